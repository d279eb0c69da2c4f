import Foundation
import Imaging

/// A rendered image: stored values (row-major, as they go into Pixel Data) and its ground truth.
public struct RenderedImage: Sendable {
    public let profile: VendorProfile
    public let rows: Int
    public let columns: Int
    public let pixelSpacing: Double
    /// out: (rows, columns), values < 2^bitsStored, already inverted for MONOCHROME1.
    public let pixels: [UInt16]
    public let windowCenter: Double
    public let windowWidth: Double
    public let truth: ImageTruth
}

/// Renders synthetic mammograms. Signal model (before the vendor's bit depth and photometric interpretation):
/// 0 = air, about 0.14 at the skin edge, 0.14 + t (0.20 + 0.36 g) inside the breast, where t in 0...1 is the
/// compressed thickness profile (falling to 0 over the last 12 mm before the skin) and g in 0...1 the local
/// fibroglandular fraction; skin adds a thin brighter line, the pectoral muscle is about 0.62, an implant 0.9.
/// Anatomy is rendered on a grid about 400 pixels on its short side (it is smooth there) and upsampled
/// bilinearly; edges, lesions, noise and markers are drawn at full resolution.
public enum MammogramRenderer {
    public static func render(_ record: ImageRecord, parameters: CohortParameters) -> RenderedImage {
        let profile = VendorProfile.forMachine(record.machineID)
        let (height, width, spacing) = profile.scaled(parameters.scale)
        let pixelsPerMM = 1 / spacing
        let isRight = record.laterality == "R"
        let projection = Projection(view: record.view)

        // Per breast (shared by its views): size, density when the table has none, implant, findings.
        var breastRNG = SynthRandom(seed: parameters.seed, 0xB4EA57, UInt64(record.patientID), isRight ? 1 : 0)
        let breastSize = breastRNG.uniform(0.82, 1.08)
        let density = record.density.isEmpty ? ["A", "B", "C", "D"][breastRNG.weightedIndex([553, 2511, 2436, 309])] : record.density
        let findings = Finding.sample(cancer: record.cancer, difficulty: parameters.difficulty, rng: &breastRNG)
        let implantShape = (breastRNG.uniform(0.28, 0.4), breastRNG.uniform(0.5, 0.7))

        var rng = SynthRandom(seed: parameters.seed, 0x1AA6E, UInt64(record.imageID))
        let shape = BreastShape(width: width, height: height, projection: projection, breastSize: breastSize,
                                pixelsPerMM: pixelsPerMM, rng: &rng)

        // Low-resolution anatomy.
        let factor = max(1, min(width, height) / 400)
        let lowW = max(2, (width + factor - 1) / factor), lowH = max(2, (height + factor - 1) / factor)
        let lowToFull = { (i: Int) -> Double in (Double(i) + 0.5) * Double(factor) - 0.5 }
        var mask = [Bool](repeating: false, count: lowW * lowH)
        for v in 0..<lowH {
            let b = shape.boundary(lowToFull(v))
            for u in 0..<lowW where lowToFull(u) < b { mask[v * lowW + u] = true }
        }
        var distance = Field.distanceInside(mask: mask, width: lowW, height: lowH)
        for i in distance.values.indices { distance.values[i] *= Float(factor) }
        let beta = ["A": 2.5, "B": 2.75, "C": 3.0, "D": 3.2][density]!
        let glandBias = Float(["A": -1.5, "B": -0.6, "C": 0.2, "D": 1.0][density]!)
        let texture = Field.powerLawNoise(width: lowW, height: lowH, beta: beta, rng: &rng)
        let muscle = Field.powerLawNoise(width: lowW, height: lowH, beta: 2.3, finestCell: 4, rng: &rng)
        let falloff = Float(12 * pixelsPerMM)
        let skinEdgeLevel: Float = 0.14
        let implant: (cx: Double, cy: Double, rx: Double, ry: Double)? = record.implant
            ? (shape.depth * 0.36, shape.nippleRow, shape.depth * implantShape.0, shape.halfHeightDown * implantShape.1) : nil

        var tissue = Field(width: lowW, height: lowH, fill: skinEdgeLevel)
        for v in 0..<lowH {
            let y = lowToFull(v)
            let pectoral = shape.pectoralEdge(y)
            for u in 0..<lowW where mask[v * lowW + u] {
                let x = lowToFull(u)
                let i = v * lowW + u
                let d = min(distance.values[i] / falloff, 1)
                let thickness = (1 - (1 - d) * (1 - d)).squareRoot()
                // Gland concentrates in the middle of the breast, behind the nipple, and thins towards skin and wall.
                let along = Float(x / shape.depth)
                let prior = 0.9 * exp(-((along - 0.5) * (along - 0.5)) / 0.08) * d - 0.45
                let g = 1 / (1 + exp(-(texture.values[i] + glandBias + prior) / 0.45))
                var s = skinEdgeLevel + thickness * (0.20 + 0.36 * g)
                if pectoral > 0 {
                    let w = Float(min(1, max(0, (pectoral - x) / Double(2 * factor) + 0.5)))
                    s = s * (1 - w) + w * (0.6 + 0.03 * muscle.values[i] + 0.04 * thickness)
                }
                if let p = implant {
                    let e = 1 - ((x - p.cx) / p.rx) * ((x - p.cx) / p.rx) - ((y - p.cy) / p.ry) * ((y - p.cy) / p.ry)
                    if e > 0 { s = max(s, Float(0.86 + 0.06 * min(1, e * 4).squareRoot())) }
                }
                tissue.values[i] = s
            }
        }

        // Full resolution: the exact row-prefix mask, upsampled anatomy, skin line.
        let extent = (0..<height).map { Int32(shape.rowExtent($0)) }
        let xs = UpsampleAxis(fullSize: width, lowSize: lowW, factor: factor)
        let ys = UpsampleAxis(fullSize: height, lowSize: lowH, factor: factor)
        let skin = Float(max(1.0, 1.5 * pixelsPerMM))
        var signal = [Float](repeating: 0, count: width * height)
        signal.withUnsafeMutableBufferPointer { out in
            tissue.values.withUnsafeBufferPointer { t in
                distance.values.withUnsafeBufferPointer { dist in
                    for y in 0..<height {
                        let r0 = Int(ys.index[y]) * lowW, r1 = r0 + lowW, fy = ys.weight[y]
                        let row = y * width
                        let inside = Int(extent[y])
                        let edgeX = Float(shape.boundary(Double(y)))
                        for x in 0..<inside {
                            let i = Int(xs.index[x]), fx = xs.weight[x]
                            let top = t[r0 + i] + (t[r0 + i + 1] - t[r0 + i]) * fx
                            let bottom = t[r1 + i] + (t[r1 + i + 1] - t[r1 + i]) * fx
                            var s = top + (bottom - top) * fy
                            let dTop = dist[r0 + i] + (dist[r0 + i + 1] - dist[r0 + i]) * fx
                            let dBottom = dist[r1 + i] + (dist[r1 + i + 1] - dist[r1 + i]) * fx
                            let d = min(dTop + (dBottom - dTop) * fy, edgeX - Float(x))
                            if d < skin { s += 0.05 * (1 - d / skin) }
                            out[row + x] = s
                        }
                        // Air, with a gentle heel-effect gradient.
                        let air = 0.015 + 0.01 * Float(y) / Float(height)
                        for x in inside..<width { out[row + x] = air }
                    }
                }
            }
        }

        // Findings, at corresponding places in every view of the breast.
        var lesions: [LesionTruth] = []
        signal.withUnsafeMutableBufferPointer { out in
            for f in findings {
                let margin = f.radiusMM * pixelsPerMM * (f.kind == .coarseCalcifications ? 0.5 : 1.3)
                let (cx, cy) = shape.place(fraction: f.depthFraction, offset: f.offset, margin: margin)
                let r = f.stamp(into: out, width: width, extent: extent, cx: cx, cy: cy, pixelsPerMM: pixelsPerMM)
                lesions.append(LesionTruth(kind: f.kind.rawValue, malignant: f.kind.malignant,
                                           center: [mirror(cx, width, isRight).rounded1, cy.rounded1], radius: r.rounded1))
            }
        }

        // Stored values: vendor range, detector noise (quantum ~ sqrt(signal) plus electronic), photometric, flip.
        let maxValue = Float((1 << profile.bitsStored) - 1)
        let offset = 0.03 * maxValue, span = 0.9 * maxValue
        let inverted = profile.isMonochrome1
        var pixels = [UInt16](repeating: 0, count: width * height)
        signal.withUnsafeBufferPointer { s in
            pixels.withUnsafeMutableBufferPointer { p in
                for y in 0..<height {
                    let row = y * width
                    for x in 0..<width {
                        let v = s[row + x]
                        let sigma = 0.0008 + 0.0035 * max(v, 0).squareRoot()
                        var stored = offset + span * (min(v, 1.02) + sigma * rng.fastNormal())
                        if inverted { stored = maxValue - stored }
                        let column = isRight ? width - 1 - x : x
                        // Round half up; the clamp keeps the conversion in range.
                        p[row + column] = UInt16(min(maxValue, max(0, stored)) + 0.5)
                    }
                }
            }
        }

        // Burned-in marker (top) and label (bottom), on the side away from the chest wall.
        let markerValue = UInt16(profile.isMonochrome1 ? 0 : maxValue)
        let cell = max(1, height / 400)
        let margin = max(4, height / 40)
        var markers: [MarkerTruth] = []
        func burn(_ kind: String, _ text: String, top: Int, plate: Bool) {
            // The glyphs come from Imaging's 5x7 canvas font, drawn once at `cell` pixels per font pixel.
            var glyphs = RGBImage(width: RGBImage.textWidth(text, scale: cell), height: RGBImage.textHeight(scale: cell), background: .black)
            glyphs.text(text, x: 0, y: 0, .white, scale: cell)
            let pad = plate ? 2 * cell : 0
            let left = isRight ? margin + pad : width - margin - pad - glyphs.width
            let box = [max(0, left - pad), max(0, top - pad), min(width - 1, left + glyphs.width - 1 + pad), min(height - 1, top + glyphs.height - 1 + pad)]
            if plate {
                let plateValue = UInt16(profile.isMonochrome1 ? maxValue * 0.6 : maxValue * 0.4)
                for y in box[1]...box[3] { for x in box[0]...box[2] { pixels[y * width + x] = plateValue } }
            }
            for y in 0..<glyphs.height where top + y >= 0 && top + y < height {
                for x in 0..<glyphs.width where left + x >= 0 && left + x < width && glyphs[x, y].r > 0 {
                    pixels[(top + y) * width + left + x] = markerValue
                }
            }
            markers.append(MarkerTruth(kind: kind, text: text, box: box))
        }
        burn("laterality", "\(record.laterality) \(record.view)", top: margin, plate: false)
        burn("label", "SITE \(record.siteID) M \(record.machineID)", top: height - margin - 9 * cell, plate: true)

        // Truth.
        var area = 0, firstRow = -1, lastRow = -1, widest = 0
        for y in 0..<height where extent[y] > 0 {
            area += Int(extent[y])
            if firstRow < 0 { firstRow = y }
            lastRow = y
            widest = max(widest, Int(extent[y]))
        }
        let box = isRight ? [width - widest, firstRow, width - 1, lastRow] : [0, firstRow, widest - 1, lastRow]
        let nipple = shape.nipple
        var truth = ImageTruth(
            key: record.key, patientID: record.patientID, imageID: record.imageID, laterality: record.laterality,
            view: record.view, rows: height, columns: width, pixelSpacingMM: spacing, chestWall: isRight ? "right" : "left",
            photometric: profile.photometric, bitsStored: profile.bitsStored, transferSyntaxUID: profile.transferSyntax.uid,
            renderedDensity: density, breastBox: box, breastArea: area,
            nipple: [mirror(nipple.x, width, isRight).rounded1, nipple.y.rounded1],
            pectoralTop: nil, pectoralChestWall: nil, pectoralBulge: nil, implantBox: nil, lesions: lesions, markers: markers)
        if projection == .mediolateral {
            truth.pectoralTop = [mirror(shape.pectoralTop, width, isRight).rounded1, 0]
            truth.pectoralChestWall = [mirror(0, width, isRight).rounded1, shape.pectoralLeft.rounded1]
            truth.pectoralBulge = shape.pectoralBulge.rounded1
        }
        if let p = implant {
            let x0 = Int(max(0, p.cx - p.rx)), x1 = Int(min(Double(width - 1), p.cx + p.rx))
            let xsBox = isRight ? [width - 1 - x1, width - 1 - x0] : [x0, x1]
            truth.implantBox = [xsBox[0], Int(max(0, p.cy - p.ry)), xsBox[1], Int(min(Double(height - 1), p.cy + p.ry))]
        }
        // Window over the tissue range (signal 0.12...0.78), expressed in stored values.
        let low = offset + span * 0.12, high = offset + span * 0.78
        let center = Double(profile.isMonochrome1 ? maxValue - (low + high) / 2 : (low + high) / 2).rounded()
        return RenderedImage(profile: profile, rows: height, columns: width, pixelSpacing: spacing, pixels: pixels,
                             windowCenter: center, windowWidth: Double(high - low).rounded(), truth: truth)
    }

    /// Canonical x to stored x: right breasts are mirrored so their chest wall is on the right.
    static func mirror(_ x: Double, _ width: Int, _ isRight: Bool) -> Double { isRight ? Double(width - 1) - x : x }
}

extension Double {
    /// One decimal, so truth files stay readable and stable.
    var rounded1: Double { (self * 10).rounded() / 10 }
}
