import Foundation
import SeededRandom
@testable import Imaging

/// A drawn mammogram-like test image with its truth: a half-ellipse breast against the left edge (the
/// chest wall) with a textured inside and a soft skin edge, optionally a brighter pectoral wedge in the
/// top-left corner (MLO), a burned-in label and bright speckle in the background, and noise.
struct Phantom {
    var image: GrayImage
    /// Bounding box of breast plus muscle.
    var breastBox: PixelRect
    /// 1 where breast tissue (not muscle) is, 2 where the pectoral muscle is, else 0.
    var truth: [UInt8]
    /// The wedge's intercepts with the top and left edges, if any.
    var pectoral: (x: Double, y: Double)?

    init(width w: Int = 416, height h: Int = 512, bits: Int = 12, pectoral: (x: Double, y: Double)? = (150, 260),
         label: Bool = true, speckle: Double = 0.002, seed: UInt64 = 1) {
        var rng = SplitMix(seed)
        let full = Double((1 << bits) - 1)
        var pixels = [UInt16](repeating: 0, count: w * h)
        var truth = [UInt8](repeating: 0, count: w * h)
        let a = 0.72 * Double(w), b = 0.56 * Double(h), cy = 0.5 * Double(h)
        var minX = w, minY = h, maxX = -1, maxY = -1
        for y in 0..<h {
            for x in 0..<w {
                let dx = Double(x) / a, dy = (Double(y) - cy) / b
                let r = (dx * dx + dy * dy).squareRoot()
                var v = 0.01 * full + rng.gaussian() * 0.004 * full  // background with noise
                if r <= 1 {
                    let texture = 0.06 * sin(Double(x) * 0.11 + 2 * sin(Double(y) * 0.05)) + 0.04 * sin(Double(y) * 0.23)
                    let skin = min(1, (1 - r) * 12)  // falls off over the last ~8% of the radius
                    v = full * (0.18 + 0.22 * skin + texture * skin) + rng.gaussian() * 0.01 * full
                    truth[y * w + x] = 1
                    if let p = pectoral, Double(x) / p.x + Double(y) / p.y <= 1 {
                        v = full * 0.62 + rng.gaussian() * 0.01 * full
                        truth[y * w + x] = 2
                    }
                    minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                }
                if rng.uniform() < speckle { v = full }
                pixels[y * w + x] = UInt16(min(max(v.rounded(), 0), full))
            }
        }
        if label {
            // A bright burned-in "R-MLO"-like label block in the top-right corner, away from the breast.
            var canvas = RGBImage(width: 60, height: 14, background: .black)
            canvas.text("R MLO", x: 1, y: 0, .white, scale: 2)
            for y in 0..<14 { for x in 0..<60 where canvas[x, y] == .white { pixels[(8 + y) * w + (w - 70 + x)] = UInt16(full) } }
        }
        image = GrayImage(width: w, height: h, bits: bits, pixels: pixels)
        breastBox = PixelRect(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
        self.truth = truth
        self.pectoral = pectoral
    }
}

/// A small deterministic generator (SplitMix64) so phantoms are the same on every run and platform.
struct SplitMix {
    var generator: SplitMix64
    init(_ seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
