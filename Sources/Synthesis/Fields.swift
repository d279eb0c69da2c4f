import Foundation

/// A row-major Float image; the low-resolution fields the anatomy is rendered in.
struct Field {
    let width: Int
    let height: Int
    var values: [Float]

    init(width: Int, height: Int, fill: Float = 0) {
        self.width = width
        self.height = height
        values = [Float](repeating: fill, count: width * height)
    }

    subscript(x: Int, y: Int) -> Float {
        get { values[y * width + x] }
        set { values[y * width + x] = newValue }
    }

    /// Power-law ("1/f^beta") noise of unit standard deviation: octaves of bilinearly interpolated Gaussian
    /// lattices with cell sizes 2, 4, 8... and amplitudes c^((beta-2)/2), which gives a radially averaged power
    /// spectrum close to f^-beta (a band at frequency f ~ 1/c carries power ~ f^-beta * f^2 in 2-D). Mammographic
    /// parenchyma measures beta ~ 2.5-3.5, higher in denser breasts (Burgess 2001; Heine 2002).
    static func powerLawNoise(width: Int, height: Int, beta: Double, finestCell: Int = 2, rng: inout SynthRandom) -> Field {
        var field = Field(width: width, height: height)
        var cell = finestCell
        let largest = max(width, height)
        while cell <= largest {
            let amplitude = Float(pow(Double(cell), (beta - 2) / 2))
            let gw = width / cell + 2, gh = height / cell + 2
            let lattice = (0..<(gw * gh)).map { _ in rng.fastNormal() }
            let inv = 1 / Float(cell)
            field.values.withUnsafeMutableBufferPointer { out in
                lattice.withUnsafeBufferPointer { g in
                    for y in 0..<height {
                        let gy = Float(y) * inv
                        let iy = Int(gy), fy = gy - Float(iy)
                        let r0 = iy * gw, r1 = r0 + gw
                        for x in 0..<width {
                            let gx = Float(x) * inv
                            let ix = Int(gx), fx = gx - Float(ix)
                            let top = g[r0 + ix] + (g[r0 + ix + 1] - g[r0 + ix]) * fx
                            let bottom = g[r1 + ix] + (g[r1 + ix + 1] - g[r1 + ix]) * fx
                            out[y * width + x] += amplitude * (top + (bottom - top) * fy)
                        }
                    }
                }
            }
            cell *= 2
        }
        field.normalise()
        return field
    }

    /// Shifts and scales to zero mean and unit standard deviation.
    mutating func normalise() {
        let n = Float(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let inv = variance > 0 ? 1 / variance.squareRoot() : 1
        for i in values.indices { values[i] = (values[i] - mean) * inv }
    }

    /// Distance (in this field's pixels) from every inside pixel to the nearest outside pixel, by a two-pass
    /// 3-4 chamfer transform. Pixels beyond the field's edges count as inside: the chest wall and the top edge
    /// of an MLO are not skin.
    static func distanceInside(mask: [Bool], width: Int, height: Int) -> Field {
        let big: Float = 1e9
        var d = Field(width: width, height: height)
        for i in 0..<mask.count { d.values[i] = mask[i] ? big : 0 }
        d.values.withUnsafeMutableBufferPointer { v in
            func at(_ x: Int, _ y: Int) -> Float { (x < 0 || y < 0 || x >= width || y >= height) ? big : v[y * width + x] }
            for y in 0..<height {
                for x in 0..<width where v[y * width + x] > 0 {
                    let m = min(at(x - 1, y) + 3, at(x, y - 1) + 3, at(x - 1, y - 1) + 4, at(x + 1, y - 1) + 4)
                    v[y * width + x] = min(v[y * width + x], m)
                }
            }
            for y in stride(from: height - 1, through: 0, by: -1) {
                for x in stride(from: width - 1, through: 0, by: -1) where v[y * width + x] > 0 {
                    let m = min(at(x + 1, y) + 3, at(x, y + 1) + 3, at(x + 1, y + 1) + 4, at(x - 1, y + 1) + 4)
                    v[y * width + x] = min(v[y * width + x], m)
                }
            }
        }
        for i in d.values.indices { d.values[i] = min(d.values[i] / 3, Float(max(width, height))) }
        return d
    }
}

/// Bilinear upsampling by an integer factor: for each full-resolution coordinate, the low-resolution index
/// and weight, precomputed once per axis so the per-pixel work is four loads and three lerps.
struct UpsampleAxis {
    let index: [Int32]
    let weight: [Float]

    /// Full-resolution pixel p sits at low-resolution coordinate (p + 0.5) / factor - 0.5 (centres aligned).
    init(fullSize: Int, lowSize: Int, factor: Int) {
        var index = [Int32](repeating: 0, count: fullSize)
        var weight = [Float](repeating: 0, count: fullSize)
        for p in 0..<fullSize {
            let c = max(0, min(Double(lowSize - 1), (Double(p) + 0.5) / Double(factor) - 0.5))
            let i = min(Int(c), max(lowSize - 2, 0))
            index[p] = Int32(i)
            weight[p] = lowSize > 1 ? Float(c - Double(i)) : 0
        }
        self.index = index
        self.weight = weight
    }
}
