import Foundation
import Testing
@testable import Synthesis

struct RenderingTests {
    static func record(machine: Int, laterality: String, view: String, cancer: Bool = false, implant: Bool = false,
                       density: String = "C", id: Int = 1000) -> ImageRecord {
        ImageRecord(siteID: 1, patientID: 42, imageID: id, laterality: laterality, view: view, age: 60, cancer: cancer,
                    biopsy: cancer, invasive: false, birads: "0.0", implant: implant, density: density, machineID: machine,
                    difficultNegative: false)
    }

    /// Signal on the display scale (bright = dense) whatever the photometric interpretation.
    static func display(_ image: RenderedImage, _ x: Int, _ y: Int) -> Double {
        let v = Double(image.pixels[y * image.columns + x]) / Double((1 << image.profile.bitsStored) - 1)
        return image.profile.isMonochrome1 ? 1 - v : v
    }

    /// The truth's breast mask agrees with the pixels: tissue is far above air, so thresholding between them
    /// (outside the marker boxes) recovers the stated area and box, and the chest wall is on the stated side.
    @Test(arguments: [(49, "L", "CC"), (48, "R", "MLO"), (29, "L", "MLO"), (21, "R", "CC")])
    func truthMatchesPixels(machine: Int, laterality: String, view: String) {
        let image = MammogramRenderer.render(Self.record(machine: machine, laterality: laterality, view: view),
                                             parameters: CohortParameters(scale: 0.1))
        let t = image.truth
        #expect(t.rows == image.rows && t.columns == image.columns)
        #expect(t.chestWall == (laterality == "L" ? "left" : "right"))
        func inMarker(_ x: Int, _ y: Int) -> Bool { t.markers.contains { x >= $0.box[0] && x <= $0.box[2] && y >= $0.box[1] && y <= $0.box[3] } }
        var area = 0, x0 = Int.max, x1 = -1, y0 = Int.max, y1 = -1
        for y in 0..<image.rows { for x in 0..<image.columns where !inMarker(x, y) && Self.display(image, x, y) > 0.1 {
            area += 1; x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        } }
        #expect(abs(Double(area - t.breastArea)) < 0.01 * Double(t.breastArea))
        #expect(abs(x0 - t.breastBox[0]) <= 1 && abs(x1 - t.breastBox[2]) <= 1)
        #expect(abs(y0 - t.breastBox[1]) <= 1 && abs(y1 - t.breastBox[3]) <= 1)
        let wallColumn = laterality == "L" ? 0 : image.columns - 1
        #expect(Self.display(image, wallColumn, Int(t.nipple[1])) > 0.1)
        // Markers sit away from the breast.
        for m in t.markers { #expect(m.box[0] > t.breastBox[2] || m.box[2] < t.breastBox[0] || m.box[1] > t.breastBox[3]) }
        if view == "MLO" {
            let top = t.pectoralTop!, wall = t.pectoralChestWall!
            #expect(top[1] == 0 && abs(wall[0] - Double(wallColumn)) < 0.01)
            // Inside the wedge, near its corner, the muscle is brighter than the breast's median.
            let px = Int(wall[0] + (top[0] - wall[0]) * 0.25), py = Int(wall[1] * 0.25)
            var values: [Double] = []
            for y in stride(from: t.breastBox[1], to: t.breastBox[3], by: 3) {
                for x in stride(from: t.breastBox[0], to: t.breastBox[2], by: 3) where Self.display(image, x, y) > 0.1 { values.append(Self.display(image, x, y)) }
            }
            values.sort()
            #expect(Self.display(image, px, py) > values[values.count / 2])
        } else {
            #expect(t.pectoralTop == nil)
        }
    }

    /// A cancer is seen in both views of its breast, at corresponding depths from the chest wall.
    @Test func cancerSeenInBothViews() {
        let parameters = CohortParameters(scale: 0.1, difficulty: 0.2)
        let cc = MammogramRenderer.render(Self.record(machine: 49, laterality: "L", view: "CC", cancer: true, id: 1), parameters: parameters)
        let mlo = MammogramRenderer.render(Self.record(machine: 49, laterality: "L", view: "MLO", cancer: true, id: 2), parameters: parameters)
        let a = cc.truth.lesions.filter(\.malignant), b = mlo.truth.lesions.filter(\.malignant)
        #expect(a.count == 1 && b.count == 1)
        guard let l1 = a.first, let l2 = b.first else { return }
        #expect(l1.kind == l2.kind && abs(l1.radius - l2.radius) < 0.01)
        let depth1 = l1.center[0] / cc.truth.nipple[0], depth2 = l2.center[0] / mlo.truth.nipple[0]
        #expect(abs(depth1 - depth2) < 0.35)
        // Inside the breast box in both.
        for (l, t) in [(l1, cc.truth), (l2, mlo.truth)] {
            #expect(l.center[0] >= Double(t.breastBox[0]) && l.center[0] <= Double(t.breastBox[2]))
            #expect(l.center[1] >= Double(t.breastBox[1]) && l.center[1] <= Double(t.breastBox[3]))
        }
        let normal = MammogramRenderer.render(Self.record(machine: 49, laterality: "R", view: "CC", id: 3), parameters: parameters)
        #expect(normal.truth.lesions.filter(\.malignant).isEmpty)
    }

    @Test func implantIsBrightAndReported() {
        let image = MammogramRenderer.render(Self.record(machine: 210, laterality: "R", view: "CC", implant: true), parameters: CohortParameters(scale: 0.1))
        let box = image.truth.implantBox!
        #expect(Self.display(image, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2) > 0.8)
    }

    @Test func sameSeedSameImageOtherSeedOtherImage() throws {
        let record = Self.record(machine: 48, laterality: "L", view: "MLO", cancer: true)
        let a = try SyntheticCohort.image(record, parameters: CohortParameters(seed: 1, scale: 0.08))
        let b = try SyntheticCohort.image(record, parameters: CohortParameters(seed: 1, scale: 0.08))
        let c = try SyntheticCohort.image(record, parameters: CohortParameters(seed: 2, scale: 0.08))
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(a.0 != c.0)
    }

    /// Denser breasts have more gland: mean tissue brightness rises from density A to D.
    @Test func densityRaisesGlandularSignal() {
        func meanTissue(_ density: String) -> Double {
            let image = MammogramRenderer.render(Self.record(machine: 49, laterality: "L", view: "CC", density: density),
                                                 parameters: CohortParameters(scale: 0.1))
            var sum = 0.0, n = 0
            for y in stride(from: 0, to: image.rows, by: 2) { for x in stride(from: 0, to: image.columns, by: 2) {
                let v = Self.display(image, x, y); if v > 0.1 && v < 0.8 { sum += v; n += 1 }
            } }
            return sum / Double(n)
        }
        #expect(meanTissue("A") < meanTissue("D") - 0.03)
    }
}
