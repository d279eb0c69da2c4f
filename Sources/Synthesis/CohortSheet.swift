import Foundation
import Imaging

/// A contact sheet of a cohort: a dozen images chosen to show its variety (views, sides, photometric
/// interpretations, encodings, cancers, implants), windowed for display, with the malignant lesion boxed in
/// green and the true pectoral line in red.
public enum CohortSheet {
    /// Up to `count` records, greedily chosen so each adds the most features not yet shown; both views of the
    /// first cancer breast are included so a reader can see the lesion in each.
    public static func pick(_ records: [ImageRecord], count: Int = 12) -> [ImageRecord] {
        func features(_ r: ImageRecord) -> Set<String> {
            let p = VendorProfile.forMachine(r.machineID)
            var f: Set<String> = ["view \(r.view)", "side \(r.laterality)", "view+side \(r.view)\(r.laterality)", p.photometric,
                                  p.transferSyntax.uid, "machine \(r.machineID)", "bits \(p.bitsStored)", "density \(r.density)"]
            if r.cancer { f.insert("cancer") }
            if r.implant { f.insert("implant") }
            return f
        }
        var chosen: [ImageRecord] = []
        if let cancer = records.first(where: { $0.cancer }) {
            chosen = records.filter { $0.patientID == cancer.patientID && $0.laterality == cancer.laterality }.prefix(2).map { $0 }
        }
        var shown = chosen.reduce(into: Set<String>()) { $0.formUnion(features($1)) }
        while chosen.count < min(count, records.count) {
            let taken = Set(chosen.map(\.imageID))
            guard let best = records.filter({ !taken.contains($0.imageID) })
                .max(by: { features($0).subtracting(shown).count < features($1).subtracting(shown).count }) else { break }
            chosen.append(best)
            shown.formUnion(features(best))
        }
        return chosen
    }

    public static func render(_ records: [ImageRecord], parameters: CohortParameters, title: String? = nil) -> RGBImage {
        let items = records.map { record -> ContactSheet.Item in
            let image = MammogramRenderer.render(record, parameters: parameters)
            let t = image.truth
            var labels = ["\(t.key)", "\(t.laterality) \(t.view)  M\(record.machineID)  \(t.rows)x\(t.columns)",
                          "\(t.photometric == "MONOCHROME1" ? "MONO1" : "MONO2") \(t.transferSyntaxUID.hasSuffix(".90") ? "J2K" : "JPEG-LL") \(t.bitsStored)b \(image.profile.voiFunction)"]
            var box: PixelRect?
            if let lesion = t.lesions.first(where: \.malignant) {
                let r = max(lesion.radius * 2, 8)
                box = PixelRect(x: Int(lesion.center[0] - r), y: Int(lesion.center[1] - r), width: Int(2 * r), height: Int(2 * r))
                labels.append("cancer: \(lesion.kind)")
            } else if let benign = t.lesions.first {
                labels.append("benign: \(benign.kind)")
            } else {
                labels.append("normal")
            }
            if record.implant { labels[labels.count - 1] += ", implant" }
            var line: LineSegment?
            if let top = t.pectoralTop, let wall = t.pectoralChestWall {
                line = LineSegment(x0: top[0], y0: top[1], x1: wall[0], y1: wall[1])
            }
            return ContactSheet.Item(image: display(image), labels: labels, box: box, line: line)
        }
        var layout = ContactSheet.Layout()
        layout.columns = 6
        layout.thumbnailWidth = 200
        layout.thumbnailHeight = 250
        layout.title = title
        return ContactSheet.render(items, layout: layout)
    }

    /// 8-bit display values: the file's window (LINEAR or SIGMOID, PS3.3 C.11.2.1.2), MONOCHROME1 inverted.
    static func display(_ image: RenderedImage) -> GrayImage {
        let c = image.windowCenter, w = image.windowWidth
        let sigmoid = image.profile.voiFunction == "SIGMOID", inverted = image.profile.isMonochrome1
        let lut = (0..<(1 << image.profile.bitsStored)).map { value -> UInt16 in
            let x = Double(value)
            var y = sigmoid ? 1 / (1 + exp(-4 * (x - c) / w)) : min(1, max(0, (x - (c - 0.5)) / (w - 1) + 0.5))
            if inverted { y = 1 - y }
            return UInt16((y * 255).rounded())
        }
        return GrayImage(width: image.columns, height: image.rows, bits: 8, pixels: image.pixels.map { lut[Int($0)] })
    }
}
