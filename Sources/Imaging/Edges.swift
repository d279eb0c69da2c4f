import Foundation

/// Canny edge detection as scikit-image does it (the study's pectoral step): Gaussian smoothing with
/// renormalised weights at the borders, Sobel gradients, bilinear non-maximum suppression, hysteresis on
/// 8-connected regions; thresholds are in units of the image's full scale (1.0 = 2^bits - 1).
public enum Edges {
    /// A 1-D Gaussian of `sigma`, truncated at 4 sigma (radius `Int(4 sigma + 0.5)`), summing to 1.
    static func gaussianKernel(sigma: Double) -> [Float] {
        let radius = max(1, Int(4 * sigma + 0.5))
        let raw = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let sum = raw.reduce(0, +)
        return raw.map { Float($0 / sum) }
    }

    /// The image scaled to 0...1 and smoothed with a separable Gaussian. At the borders the weights that
    /// fall outside are dropped and the rest renormalised (scikit-image's mask compensation).
    /// out: (height, width) row-major
    public static func gaussianSmooth(_ image: GrayImage, sigma: Double, threads: Int = 1) -> [Float] {
        let w = image.width, h = image.height
        let kernel = gaussianKernel(sigma: sigma)
        let r = kernel.count / 2
        // Per-position normalisation: 1 / (sum of the kernel weights that land inside 0..<n).
        func norms(_ n: Int) -> [Float] {
            (0..<n).map { i in
                var s: Float = 0
                for k in -r...r where i + k >= 0 && i + k < n { s += kernel[k + r] }
                return 1 / s
            }
        }
        let columnNorm = norms(w), rowNorm = norms(h).map { $0 / Float(image.maxValue) }
        var out = [Float](unsafeUninitializedCapacity: w * h) { _, count in count = w * h }
        // The vertical pass converts samples to float as it reads them (vectorised), which costs less than a
        // separate float copy of the image: no 4-byte-per-pixel buffer to allocate, fault in and reread.
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                nonisolated(unsafe) let src = source.baseAddress!, dst = target.baseAddress!
                parallelRows(h, threads: threads) { rows in
                    // One row of vertical sums with r zeros on each side: the horizontal taps become plain
                    // multiply-adds over shifted rows. The kernel is symmetric, so taps are paired.
                    var padded = [Float](repeating: 0, count: w + 2 * r)
                    padded.withUnsafeMutableBufferPointer { p in
                        let column = p.baseAddress! + r
                        for y in rows {
                            let centre = src + y * w
                            let g0 = kernel[r]
                            for x in 0..<w { column[x] = g0 * Float(centre[x]) }
                            for k in 1...r {
                                let g = kernel[r + k]
                                let up = y - k >= 0 ? src + (y - k) * w : nil, down = y + k < h ? src + (y + k) * w : nil
                                if let up, let down {
                                    for x in 0..<w { column[x] += g * (Float(up[x]) + Float(down[x])) }
                                } else if let one = up ?? down {
                                    for x in 0..<w { column[x] += g * Float(one[x]) }
                                }
                            }
                            // Horizontal: eight outputs at a time in registers (the compiler does not
                            // vectorise this loop itself: it cannot rule out `line` aliasing `column`).
                            let line = dst + y * w
                            let n = rowNorm[y]
                            var x = 0
                            columnNorm.withUnsafeBufferPointer { norm in
                                let rawColumn = UnsafeRawPointer(column), rawNorm = UnsafeRawPointer(norm.baseAddress!)
                                while x + 8 <= w {
                                    var sum = g0 * rawColumn.loadUnaligned(fromByteOffset: 4 * x, as: SIMD8<Float>.self)
                                    for k in 1...r {
                                        let pair = rawColumn.loadUnaligned(fromByteOffset: 4 * (x - k), as: SIMD8<Float>.self)
                                            + rawColumn.loadUnaligned(fromByteOffset: 4 * (x + k), as: SIMD8<Float>.self)
                                        sum += kernel[r + k] * pair
                                    }
                                    sum *= n * rawNorm.loadUnaligned(fromByteOffset: 4 * x, as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(line + x).storeBytes(of: sum, as: SIMD8<Float>.self)
                                    x += 8
                                }
                            }
                            while x < w {
                                var sum = g0 * column[x]
                                for k in 1...r { sum += kernel[r + k] * (column[x - k] + column[x + k]) }
                                line[x] = sum * n * columnNorm[x]
                                x += 1
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Sobel derivatives at (x, y) of a float image, kernel [1 2 1] x [-1 0 1], borders mirrored:
    /// gx along rows (x), gy down columns (y).
    @inline(__always)
    static func sobel(_ p: UnsafePointer<Float>, _ x: Int, _ y: Int, width w: Int, height h: Int) -> (gx: Float, gy: Float) {
        let above = p + max(y - 1, 0) * w, row = p + y * w, below = p + min(y + 1, h - 1) * w
        let l = max(x - 1, 0), r = min(x + 1, w - 1)
        let gx = (above[r] - above[l]) + 2 * (row[r] - row[l]) + (below[r] - below[l])
        let gy = (below[l] - above[l]) + 2 * (below[x] - above[x]) + (below[r] - above[r])
        return (gx, gy)
    }

    /// Gradient magnitude of a float image with the Sobel kernel, borders mirrored. out: (height, width)
    static func sobelMagnitude(_ image: UnsafePointer<Float>, width w: Int, height h: Int, threads: Int = 1) -> [Float] {
        var magnitude = [Float](unsafeUninitializedCapacity: w * h) { _, count in count = w * h }
        magnitude.withUnsafeMutableBufferPointer { target in
            nonisolated(unsafe) let src = image, dst = target.baseAddress!
            parallelRows(h, threads: threads) { rows in
                for y in rows {
                    let above = src + max(y - 1, 0) * w, row = src + y * w, below = src + min(y + 1, h - 1) * w
                    let out = dst + y * w
                    // Interior columns vectorise; the two edge columns mirror.
                    for x in 1..<max(1, w - 1) {
                        let gx = (above[x + 1] - above[x - 1]) + 2 * (row[x + 1] - row[x - 1]) + (below[x + 1] - below[x - 1])
                        let gy = (below[x - 1] - above[x - 1]) + 2 * (below[x] - above[x]) + (below[x + 1] - above[x + 1])
                        out[x] = (gx * gx + gy * gy).squareRoot()
                    }
                    for x in [0, w - 1] {
                        let (gx, gy) = sobel(src, x, y, width: w, height: h)
                        out[x] = (gx * gx + gy * gy).squareRoot()
                    }
                }
            }
        }
        return magnitude
    }

    /// Canny edges of `image`: 1 where an edge is, else 0; the outermost pixel ring is never an edge.
    /// out: (height, width) row-major
    public static func canny(_ image: GrayImage, sigma: Double, low: Float = 0.1, high: Float = 0.2, threads: Int = 1) -> [UInt8] {
        cannyWithList(image, sigma: sigma, low: low, high: high, threads: threads).edges
    }

    /// Canny's edge map and the indices of its edge pixels (in no particular order).
    static func cannyWithList(_ image: GrayImage, sigma: Double, low: Float, high: Float, threads: Int) -> (edges: [UInt8], list: [Int]) {
        let w = image.width, h = image.height
        guard w >= 3, h >= 3 else { return ([UInt8](repeating: 0, count: w * h), []) }
        let smoothed = gaussianSmooth(image, sigma: sigma, threads: threads)
        // Non-maximum suppression: keep a pixel when its magnitude is at least that of both neighbours along
        // the gradient, each interpolated between the axis neighbour and the diagonal one.
        // 0 = not an edge, 1 = weak (>= low), 2 = strong (>= high).
        var state = [UInt8](repeating: 0, count: w * h)
        var strong: [Int] = []
        smoothed.withUnsafeBufferPointer { smooth in
            let magnitude = sobelMagnitude(smooth.baseAddress!, width: w, height: h, threads: threads)
            magnitude.withUnsafeBufferPointer { mag in
                let lowBits = max(low, 0).bitPattern
                mag.withMemoryRebound(to: UInt32.self) { bits in
                    for y in 1..<h - 1 {
                        var x = 1
                        while x < w - 1 {
                            // Most of an image is flat: skip 32 pixels at a time when none reaches `low`.
                            // Magnitudes are non-negative, so their bit patterns order like the values and the
                            // count is branch-free integer arithmetic (m >= low exactly when lowBits - 1 - m borrows).
                            // The block's own pointer keeps overflow-checked index arithmetic out of the loop,
                            // so it vectorises.
                            if x + 32 <= w - 1 {
                                let block = bits.baseAddress! + (y * w + x)
                                var reaching: UInt32 = 0
                                for k in 0..<32 { reaching &+= (lowBits &- 1 &- block[k]) >> 31 }
                                if reaching == 0 {
                                    x += 32
                                    continue
                                }
                            }
                            defer { x += 1 }
                            let i = y * w + x
                            let m = mag[i]
                            if m < low { continue }
                            let (ix, iy) = sobel(smooth.baseAddress!, x, y, width: w, height: h)
                            let ax = abs(ix), ay = abs(iy)
                            let sx = ix >= 0 ? 1 : -1, sy = iy >= 0 ? 1 : -1
                            let forward: Float, backward: Float
                            if ay >= ax {
                                let t = ay == 0 ? 0 : ax / ay
                                forward = t * mag[i + sy * w + sx] + (1 - t) * mag[i + sy * w]
                                backward = t * mag[i - sy * w - sx] + (1 - t) * mag[i - sy * w]
                            } else {
                                let t = ay / ax
                                forward = t * mag[i + sy * w + sx] + (1 - t) * mag[i + sx]
                                backward = t * mag[i - sy * w - sx] + (1 - t) * mag[i - sx]
                            }
                            guard m >= forward && m >= backward else { continue }
                            if m >= high {
                                state[i] = 2
                                strong.append(i)
                            } else {
                                state[i] = 1
                            }
                        }
                    }
                }
            }
        }
        // Hysteresis: weak pixels 8-connected to a strong one become edges.
        var edges = [UInt8](repeating: 0, count: w * h)
        var list = strong
        var stack = strong
        for i in strong { edges[i] = 1 }
        let neighbours = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1]
        while let i = stack.popLast() {
            for d in neighbours {
                let j = i + d
                if state[j] != 0 && edges[j] == 0 {
                    edges[j] = 1
                    stack.append(j)
                    list.append(j)
                }
            }
        }
        return (edges, list)
    }

    /// The pixels where the Sobel gradient of a binary edge map is non-zero (borders mirrored): a band
    /// hugging each edge on both sides. The study ran `sobel` on Canny's output before the Hough transform;
    /// these are the pixels that vote. out: (x, y) pairs
    public static func sobelSupport(ofEdges edges: [UInt8], width w: Int, height h: Int) -> [(x: Int32, y: Int32)] {
        sobelSupport(ofEdges: edges, list: edges.indices.filter { edges[$0] != 0 }, width: w, height: h)
    }

    /// The same, visiting only the neighbourhoods of `list`, the indices of the edge pixels.
    static func sobelSupport(ofEdges edges: [UInt8], list: [Int], width w: Int, height h: Int) -> [(x: Int32, y: Int32)] {
        var visited = [Bool](repeating: false, count: w * h)
        var points: [(x: Int32, y: Int32)] = []
        edges.withUnsafeBufferPointer { e in
            func at(_ x: Int, _ y: Int) -> Int { Int(e[min(max(y, 0), h - 1) * w + min(max(x, 0), w - 1)]) }
            for i in list {
                let x = i % w, y = i / w
                for ny in max(y - 1, 0)...min(y + 1, h - 1) {
                    for nx in max(x - 1, 0)...min(x + 1, w - 1) where !visited[ny * w + nx] {
                        visited[ny * w + nx] = true
                        let gx: Int, gy: Int
                        if nx > 0 && ny > 0 && nx < w - 1 && ny < h - 1 {
                            let c = ny * w + nx
                            let a = Int(e[c - w - 1]), b = Int(e[c - w]), d = Int(e[c - w + 1])
                            let l = Int(e[c - 1]), r = Int(e[c + 1])
                            let f = Int(e[c + w - 1]), g = Int(e[c + w]), k = Int(e[c + w + 1])
                            gx = (d - a) + 2 * (r - l) + (k - f)
                            gy = (f - a) + 2 * (g - b) + (k - d)
                        } else {
                            gx = (at(nx + 1, ny - 1) - at(nx - 1, ny - 1)) + 2 * (at(nx + 1, ny) - at(nx - 1, ny))
                                + (at(nx + 1, ny + 1) - at(nx - 1, ny + 1))
                            gy = (at(nx - 1, ny + 1) - at(nx - 1, ny - 1)) + 2 * (at(nx, ny + 1) - at(nx, ny - 1))
                                + (at(nx + 1, ny + 1) - at(nx + 1, ny - 1))
                        }
                        if gx != 0 || gy != 0 { points.append((Int32(nx), Int32(ny))) }
                    }
                }
            }
        }
        return points
    }
}
