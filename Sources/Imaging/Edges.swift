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
        let scale = 1 / Float(image.maxValue)
        // Per-position normalisation: 1 / (sum of the kernel weights that land inside 0..<n).
        func norms(_ n: Int) -> [Float] {
            (0..<n).map { i in
                var s: Float = 0
                for k in -r...r where i + k >= 0 && i + k < n { s += kernel[k + r] }
                return 1 / s
            }
        }
        let columnNorm = norms(w), rowNorm = norms(h)
        var horizontal = [Float](repeating: 0, count: w * h)
        var out = [Float](repeating: 0, count: w * h)
        image.pixels.withUnsafeBufferPointer { source in
            horizontal.withUnsafeMutableBufferPointer { mid in
                nonisolated(unsafe) let src = source.baseAddress!, tmp = mid.baseAddress!
                parallelRows(h, threads: threads) { rows in
                    // One zero-padded float row: the taps become plain vectorisable multiply-adds.
                    var padded = [Float](repeating: 0, count: w + 2 * r)
                    padded.withUnsafeMutableBufferPointer { p in
                        let pad = p.baseAddress!
                        for y in rows {
                            for x in 0..<w { pad[r + x] = Float(src[y * w + x]) * scale }
                            let line = tmp + y * w
                            for x in 0..<w { line[x] = 0 }
                            for k in 0..<kernel.count {
                                let weight = kernel[k]
                                let from = pad + k
                                for x in 0..<w { line[x] += weight * from[x] }
                            }
                            for x in 0..<w { line[x] *= columnNorm[x] }
                        }
                    }
                }
            }
        }
        horizontal.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { target in
                nonisolated(unsafe) let tmp = mid.baseAddress!, dst = target.baseAddress!
                parallelRows(h, threads: threads) { rows in
                    for y in rows {
                        let line = dst + y * w
                        for x in 0..<w { line[x] = 0 }
                        for k in max(0, r - y)...min(2 * r, h - 1 - y + r) {
                            let weight = kernel[k]
                            let from = tmp + (y + k - r) * w
                            for x in 0..<w { line[x] += weight * from[x] }
                        }
                        let n = rowNorm[y]
                        for x in 0..<w { line[x] *= n }
                    }
                }
            }
        }
        return out
    }

    /// Sobel derivatives of a float image: gx along rows (x), gy down columns (y), kernel [1 2 1] x [-1 0 1],
    /// borders mirrored. out: two (height, width) planes
    static func sobel(_ image: [Float], width w: Int, height h: Int, threads: Int = 1) -> (gx: [Float], gy: [Float]) {
        var gx = [Float](repeating: 0, count: w * h), gy = [Float](repeating: 0, count: w * h)
        guard w >= 2, h >= 2 else { return (gx, gy) }
        image.withUnsafeBufferPointer { source in
            gx.withUnsafeMutableBufferPointer { gxBuffer in
                gy.withUnsafeMutableBufferPointer { gyBuffer in
                    nonisolated(unsafe) let src = source.baseAddress!, dx = gxBuffer.baseAddress!, dy = gyBuffer.baseAddress!
                    parallelRows(h, threads: threads) { rows in
                        for y in rows {
                            let above = src + max(y - 1, 0) * w, row = src + y * w, below = src + min(y + 1, h - 1) * w
                            let outX = dx + y * w, outY = dy + y * w
                            // Interior columns vectorise; the two edge columns mirror.
                            for x in 1..<w - 1 {
                                outX[x] = (above[x + 1] - above[x - 1]) + 2 * (row[x + 1] - row[x - 1]) + (below[x + 1] - below[x - 1])
                                outY[x] = (below[x - 1] - above[x - 1]) + 2 * (below[x] - above[x]) + (below[x + 1] - above[x + 1])
                            }
                            for x in [0, w - 1] {
                                let l = max(x - 1, 0), r = min(x + 1, w - 1)
                                outX[x] = (above[r] - above[l]) + 2 * (row[r] - row[l]) + (below[r] - below[l])
                                outY[x] = (below[l] - above[l]) + 2 * (below[x] - above[x]) + (below[r] - above[r])
                            }
                        }
                    }
                }
            }
        }
        return (gx, gy)
    }

    /// Canny edges of `image`: 1 where an edge is, else 0; the outermost pixel ring is never an edge.
    /// out: (height, width) row-major
    public static func canny(_ image: GrayImage, sigma: Double, low: Float = 0.1, high: Float = 0.2, threads: Int = 1) -> [UInt8] {
        let w = image.width, h = image.height
        guard w >= 3, h >= 3 else { return [UInt8](repeating: 0, count: w * h) }
        let smoothed = gaussianSmooth(image, sigma: sigma, threads: threads)
        let (gx, gy) = sobel(smoothed, width: w, height: h, threads: threads)
        var magnitude = [Float](repeating: 0, count: w * h)
        for i in 0..<w * h { magnitude[i] = (gx[i] * gx[i] + gy[i] * gy[i]).squareRoot() }

        // Non-maximum suppression: keep a pixel when its magnitude is at least that of both neighbours along
        // the gradient, each interpolated between the axis neighbour and the diagonal one.
        // 0 = not an edge, 1 = weak (>= low), 2 = strong (>= high).
        var state = [UInt8](repeating: 0, count: w * h)
        var strong: [Int] = []
        magnitude.withUnsafeBufferPointer { mag in
            for y in 1..<h - 1 {
                for x in 1..<w - 1 {
                    let i = y * w + x
                    let m = mag[i]
                    if m < low { continue }
                    let ix = gx[i], iy = gy[i]
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
        // Hysteresis: weak pixels 8-connected to a strong one become edges.
        var edges = [UInt8](repeating: 0, count: w * h)
        var stack = strong
        for i in strong { edges[i] = 1 }
        let neighbours = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1]
        while let i = stack.popLast() {
            for d in neighbours {
                let j = i + d
                if state[j] != 0 && edges[j] == 0 {
                    edges[j] = 1
                    stack.append(j)
                }
            }
        }
        return edges
    }

    /// The pixels where the Sobel gradient of a binary edge map is non-zero (borders mirrored): a band
    /// hugging each edge on both sides. The study ran `sobel` on Canny's output before the Hough transform;
    /// these are the pixels that vote. out: (x, y) pairs
    public static func sobelSupport(ofEdges edges: [UInt8], width w: Int, height h: Int) -> [(x: Int32, y: Int32)] {
        var candidate = [Bool](repeating: false, count: w * h)
        var points: [(x: Int32, y: Int32)] = []
        func at(_ x: Int, _ y: Int) -> Int {
            Int(edges[min(max(y, 0), h - 1) * w + min(max(x, 0), w - 1)])
        }
        for y in 0..<h {
            for x in 0..<w where edges[y * w + x] != 0 {
                for ny in max(y - 1, 0)...min(y + 1, h - 1) {
                    for nx in max(x - 1, 0)...min(x + 1, w - 1) where !candidate[ny * w + nx] {
                        candidate[ny * w + nx] = true
                        let gx = (at(nx + 1, ny - 1) - at(nx - 1, ny - 1)) + 2 * (at(nx + 1, ny) - at(nx - 1, ny))
                            + (at(nx + 1, ny + 1) - at(nx - 1, ny + 1))
                        let gy = (at(nx - 1, ny + 1) - at(nx - 1, ny - 1)) + 2 * (at(nx, ny + 1) - at(nx, ny - 1))
                            + (at(nx + 1, ny + 1) - at(nx + 1, ny - 1))
                        if gx != 0 || gy != 0 { points.append((Int32(nx), Int32(ny))) }
                    }
                }
            }
        }
        return points
    }
}
