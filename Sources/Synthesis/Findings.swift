import Foundation

/// What a breast contains besides normal tissue. Malignant: spiculated masses and clusters of fine
/// calcifications; benign look-alikes: round smooth masses and scattered coarse calcifications.
public enum FindingKind: String, Sendable {
    case spiculatedMass = "spiculated_mass"
    case calcificationCluster = "calcification_cluster"
    case roundMass = "round_mass"
    case coarseCalcifications = "coarse_calcifications"

    public var malignant: Bool { self == .spiculatedMass || self == .calcificationCluster }
}

/// A finding in breast-relative coordinates, so every view of the breast shows it at the corresponding place:
/// `depthFraction` of the nipple depth from the chest wall and `offset` (-1...1) across the breast.
struct Finding {
    let kind: FindingKind
    let depthFraction: Double
    let offset: Double
    /// Core radius (masses) or spread (calcifications), in mm.
    let radiusMM: Double
    /// Added attenuation at the centre, in units of the signal model (tissue spans about 0.14...0.7).
    let contrast: Float
    /// Seeds the finding's fine structure (spicules, calcification positions) identically in every view.
    let detailSeed: UInt64

    /// The findings of one breast: deterministic in (seed, patient, laterality), so all its views agree.
    ///
    /// Difficulty d in 0...1 (default 0.5) scales what makes a lesion visible: malignant masses have a radius
    /// of 4-9 mm times (1.3 - 0.5 d) and a contrast of (0.55 - 0.35 d) times the full fat-to-gland contrast,
    /// so at d = 0.5 a mass stands about as far above fat as dense gland does, and hides in dense breasts;
    /// calcification clusters have fainter specks as d grows (contrast 0.6 - 0.3 d: calcium attenuates far more than
    /// tissue, but specks of 0.12-0.3 mm fill only part of a pixel at demo scale). Benign look-alikes (same size and contrast
    /// ranges, only the margin and shape differ) appear in 10% + 40% d of breasts of each kind.
    static func sample(cancer: Bool, difficulty d: Double, rng: inout SynthRandom) -> [Finding] {
        var findings: [Finding] = []
        func location() -> (Double, Double) { (rng.uniform(0.25, 0.75), rng.uniform(-0.8, 0.8)) }
        if cancer {
            let (f, o) = location()
            if rng.chance(0.6) {
                findings.append(Finding(kind: .spiculatedMass, depthFraction: f, offset: o,
                                        radiusMM: rng.uniform(4, 9) * (1.3 - 0.5 * d),
                                        contrast: Float(massContrast(d) * rng.uniform(0.8, 1.2)), detailSeed: rng.next()))
            } else {
                findings.append(Finding(kind: .calcificationCluster, depthFraction: f, offset: o,
                                        radiusMM: rng.uniform(3, 7),
                                        contrast: Float((0.6 - 0.3 * d) * rng.uniform(0.8, 1.2)), detailSeed: rng.next()))
            }
        }
        if rng.chance(0.1 + 0.4 * d) {
            let (f, o) = location()
            findings.append(Finding(kind: .roundMass, depthFraction: f, offset: o, radiusMM: rng.uniform(4, 10),
                                    contrast: Float(massContrast(d) * rng.uniform(0.8, 1.2)), detailSeed: rng.next()))
        }
        if rng.chance(0.1 + 0.4 * d) {
            let (f, o) = location()
            findings.append(Finding(kind: .coarseCalcifications, depthFraction: f, offset: o * 0.5, radiusMM: rng.uniform(15, 30),
                                    contrast: Float(rng.uniform(0.25, 0.4)), detailSeed: rng.next()))
        }
        return findings
    }

    /// Fat-to-gland contrast of the signal model is 0.36 (see `MammogramRenderer`).
    static func massContrast(_ d: Double) -> Double { 0.36 * (0.55 - 0.35 * d) }

    /// Adds the finding centred at (cx, cy) into `signal` (canonical orientation, full resolution), only inside the
    /// breast (x < extent[y]). Returns the radius reported as truth, in pixels.
    func stamp(into signal: UnsafeMutableBufferPointer<Float>, width: Int, extent: [Int32], cx: Double, cy: Double,
               pixelsPerMM: Double) -> Double {
        var rng = SynthRandom(seed: detailSeed)
        let radius = radiusMM * pixelsPerMM
        switch kind {
        case .spiculatedMass:
            let lobes = (rng.uniform(0, 6.3), rng.uniform(0, 6.3))
            let spicules = (0..<Int(rng.uniform(10, 22))).map { _ -> (Double, Double, Double, Double) in
                let angle = rng.uniform(0, 2 * Double.pi)
                return (cos(angle), sin(angle), radius * rng.uniform(0.8, 2.0), max(0.7, rng.uniform(0.2, 0.45) * pixelsPerMM))
            }
            let reach = radius * 3.3
            draw(signal, width: width, extent: extent, cx: cx, cy: cy, reach: reach) { dx, dy in
                let r = (dx * dx + dy * dy).squareRoot()
                let theta = atan2(dy, dx)
                let edge = radius * (1 + 0.15 * sin(3 * theta + lobes.0) + 0.08 * sin(5 * theta + lobes.1))
                var v = min(1, max(0, (1.1 - r / edge) / 0.35))
                if r > edge * 0.6 {
                    for (c, s, length, w) in spicules {
                        let along = dx * c + dy * s
                        guard along > 0, along < edge + length else { continue }
                        let across = dx * s - dy * c
                        // Fainter and thinner towards the tip.
                        let fade = 1 - max(0, along - edge) / length
                        let width = w * (0.4 + 0.6 * fade)
                        v = max(v, 0.5 * fade * exp(-(across * across) / (width * width)))
                    }
                }
                return Float(v)
            }
        case .roundMass:
            let ratio = rng.uniform(0.7, 1.0), angle = rng.uniform(0, Double.pi)
            let (c, s) = (cos(angle), sin(angle))
            draw(signal, width: width, extent: extent, cx: cx, cy: cy, reach: radius * 1.2) { dx, dy in
                let u = (dx * c + dy * s) / radius, w = (dx * s - dy * c) / (radius * ratio)
                let r = (u * u + w * w).squareRoot()
                return Float(min(1, max(0, (1 - r) / 0.12)) * (0.85 + 0.15 * max(0, 1 - r * r)))
            }
        case .calcificationCluster, .coarseCalcifications:
            let fine = kind == .calcificationCluster
            let count = fine ? Int(rng.uniform(8, 24)) : Int(rng.uniform(3, 9))
            for _ in 0..<count {
                let angle = rng.uniform(0, 2 * Double.pi), distance = radius * rng.uniform(0, 1).squareRoot()
                let speck = (fine ? rng.uniform(0.12, 0.3) : rng.uniform(0.5, 1.3)) * pixelsPerMM
                let sigma = max(speck, 0.6)
                let peak = Float(min(1, (speck / sigma) * (speck / sigma)))
                draw(signal, width: width, extent: extent, cx: cx + distance * cos(angle), cy: cy + distance * sin(angle),
                     reach: sigma * 2.5) { dx, dy in
                    peak * Float(exp(-(dx * dx + dy * dy) / (sigma * sigma)))
                }
            }
        }
        return radius
    }

    /// Adds contrast * shape(dx, dy) over the square of half-side `reach` around (cx, cy), breast pixels only.
    private func draw(_ signal: UnsafeMutableBufferPointer<Float>, width: Int, extent: [Int32], cx: Double, cy: Double,
                      reach: Double, _ shape: (Double, Double) -> Float) {
        let height = extent.count
        let y0 = max(0, Int(cy - reach)), y1 = min(height - 1, Int(cy + reach) + 1)
        guard y0 <= y1 else { return }
        for y in y0...y1 {
            let x0 = max(0, Int(cx - reach)), x1 = min(Int(extent[y]) - 1, Int(cx + reach) + 1)
            guard x0 <= x1 else { continue }
            for x in x0...x1 {
                let v = shape(Double(x) - cx, Double(y) - cy)
                if v > 0 { signal[y * width + x] += contrast * v }
            }
        }
    }
}
