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
    /// Built as a pyramid, coarsest lattice first, each level upsampled 2x and its own octave added, so the
    /// cost is about 4/3 of one pass over the finest lattice plus one final interpolation.
    static func powerLawNoise(width: Int, height: Int, beta: Double, finestCell: Int = 2, rng: inout SynthRandom) -> Field {
        var cells: [Int] = []
        var cell = finestCell
        while cell <= max(width, height) { cells.append(cell); cell *= 2 }
        func amplitude(_ c: Int) -> Float { Float(pow(Double(c), (beta - 2) / 2)) }
        // Lattice point i of the level with cell c sits at pixel i * c; 3 extra points cover the interpolation.
        func level(_ c: Int) -> (Int, Int) { (width / c + 3, height / c + 3) }
        let coarsest = cells.last ?? finestCell
        let (w0, h0) = level(coarsest)
        var lattice = Field(width: w0, height: h0)
        for i in lattice.values.indices { lattice.values[i] = amplitude(coarsest) * rng.fastNormal() }
        for c in cells.reversed().dropFirst() {
            let (w, h) = level(c)
            lattice = lattice.upsampled(by: 2, width: w, height: h)
            let a = amplitude(c)
            for i in lattice.values.indices { lattice.values[i] += a * rng.fastNormal() }
        }
        var field = lattice.upsampled(by: finestCell, width: width, height: height)
        field.normalise()
        return field
    }

    /// Bilinear interpolation onto a finer lattice: output point (x, y) samples this field at (x / factor, y / factor).
    func upsampled(by factor: Int, width outW: Int, height outH: Int) -> Field {
        var out = Field(width: outW, height: outH)
        let inv = 1 / Float(factor)
        let xIndex = (0..<outW).map { min($0 / factor, width - 2) }
        let xWeight = (0..<outW).map { Float($0) * inv - Float(min($0 / factor, width - 2)) }
        values.withUnsafeBufferPointer { g in
            out.values.withUnsafeMutableBufferPointer { o in
                for y in 0..<outH {
                    let iy = min(y / factor, height - 2), fy = Float(y) * inv - Float(iy)
                    let r0 = iy * width, r1 = r0 + width
                    for x in 0..<outW {
                        let ix = xIndex[x], fx = xWeight[x]
                        let top = g[r0 + ix] + (g[r0 + ix + 1] - g[r0 + ix]) * fx
                        let bottom = g[r1 + ix] + (g[r1 + ix + 1] - g[r1 + ix]) * fx
                        o[y * outW + x] = top + (bottom - top) * fy
                    }
                }
            }
        }
        return out
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
