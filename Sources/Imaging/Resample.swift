import Foundation

/// Resampling of 16-bit (or fewer bits) gray images: exact block averaging for integer factors, and a
/// separable resampler for any size (area coverage when shrinking, bilinear when enlarging).
public enum Resample {
    /// Each output pixel is the mean of a `factor` x `factor` block, rounded half up:
    /// `(sum + factor²/2) / factor²`. The output is `width / factor` x `height / factor` (rounded down): the
    /// last `width % factor` columns and `height % factor` rows, if any, are dropped so that every output
    /// pixel averages exactly factor² inputs. Rows are split over `threads` workers.
    public static func areaAverage(_ image: GrayImage, factor: Int, threads: Int = 1) -> GrayImage {
        precondition(factor >= 1, "factor must be at least 1")
        if factor == 1 { return image }
        let outW = image.width / factor, outH = image.height / factor
        var out = [UInt16](repeating: 0, count: outW * outH)
        guard outW > 0, outH > 0 else { return GrayImage(width: outW, height: outH, bits: image.bits, pixels: out) }
        let inW = image.width
        let divisor = UInt32(factor * factor), half = divisor / 2
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                nonisolated(unsafe) let src = source.baseAddress!, dst = target.baseAddress!
                parallelRows(outH, threads: threads) { rows in
                    // Column sums of `factor` input rows, then sums of `factor` adjacent columns.
                    var columnSums = [UInt32](repeating: 0, count: outW * factor)
                    columnSums.withUnsafeMutableBufferPointer { sumsBuffer in
                        let sums = sumsBuffer.baseAddress!
                        let n = outW * factor
                        for oy in rows {
                            let first = src + oy * factor * inW
                            for x in 0..<n { sums[x] = UInt32(first[x]) }
                            for k in 1..<factor {
                                let row = first + k * inW
                                for x in 0..<n { sums[x] &+= UInt32(row[x]) }
                            }
                            let line = dst + oy * outW
                            if factor == 2 {
                                for ox in 0..<outW { line[ox] = UInt16(truncatingIfNeeded: (sums[2 * ox] &+ sums[2 * ox + 1] &+ half) / divisor) }
                            } else if factor == 4 {
                                for ox in 0..<outW {
                                    let s = sums[4 * ox] &+ sums[4 * ox + 1] &+ sums[4 * ox + 2] &+ sums[4 * ox + 3]
                                    line[ox] = UInt16(truncatingIfNeeded: (s &+ half) >> 4)
                                }
                            } else {
                                for ox in 0..<outW {
                                    var s: UInt32 = half
                                    for k in 0..<factor { s &+= sums[ox * factor + k] }
                                    line[ox] = UInt16(truncatingIfNeeded: s / divisor)
                                }
                            }
                        }
                    }
                }
            }
        }
        return GrayImage(width: outW, height: outH, bits: image.bits, pixels: out)
    }

    /// Resizes to `width` x `height`. Each axis on its own: when it shrinks, an output pixel is the mean of
    /// the input it covers (partial pixels weighted by their overlap), as OpenCV's INTER_AREA; when it grows,
    /// bilinear interpolation between pixel centres (edges clamped). Exact integer shrinks on both axes
    /// take `areaAverage`. Values are rounded to nearest and stay within the image's bits.
    public static func resize(_ image: GrayImage, width: Int, height: Int, threads: Int = 1) -> GrayImage {
        precondition(width > 0 && height > 0, "target size must be positive")
        if width == image.width && height == image.height { return image }
        if image.width % width == 0, image.height % height == 0, image.width / width == image.height / height {
            return areaAverage(image, factor: image.width / width, threads: threads)
        }
        let columns = weights(from: image.width, to: width)
        let rows = weights(from: image.height, to: height)
        let inW = image.width
        let maxValue = Float(image.maxValue)
        var out = [UInt16](repeating: 0, count: width * height)
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                nonisolated(unsafe) let src = source.baseAddress!, dst = target.baseAddress!
                parallelRows(height, threads: threads) { range in
                    var accumulated = [Float](repeating: 0, count: inW)
                    for oy in range {
                        // Vertical pass into one float row, then the horizontal pass.
                        let tap = rows[oy]
                        for x in 0..<inW { accumulated[x] = 0 }
                        for (k, w) in tap.weights.enumerated() {
                            let row = src + (tap.start + k) * inW
                            for x in 0..<inW { accumulated[x] += w * Float(row[x]) }
                        }
                        for ox in 0..<width {
                            let c = columns[ox]
                            var v: Float = 0
                            for (k, w) in c.weights.enumerated() { v += w * accumulated[c.start + k] }
                            dst[oy * width + ox] = UInt16(min(max(v.rounded(), 0), maxValue))
                        }
                    }
                }
            }
        }
        return GrayImage(width: width, height: height, bits: image.bits, pixels: out)
    }

    /// The input samples (from `start`, with `weights` summing to 1) that make output sample i along one axis.
    struct Tap {
        let start: Int
        let weights: [Float]
    }

    static func weights(from n: Int, to m: Int) -> [Tap] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { i in
            if m < n {
                // Area: output i covers input [i*scale, (i+1)*scale).
                let lo = Double(i) * scale, hi = min(Double(n), Double(i + 1) * scale)
                let first = Int(lo), last = min(n - 1, Int((hi - 1e-9).rounded(.down)))
                let w = (first...last).map { j in Float((min(hi, Double(j + 1)) - max(lo, Double(j))) / scale) }
                return Tap(start: first, weights: w)
            }
            // Bilinear between the two nearest input centres.
            let x = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(n - 1))
            let first = min(Int(x), max(n - 2, 0))
            let f = Float(x - Double(first))
            return n == 1 ? Tap(start: 0, weights: [1]) : Tap(start: first, weights: [1 - f, f])
        }
    }

    /// The largest size with the image's aspect ratio that fits `maxWidth` x `maxHeight` (at least 1x1).
    public static func fittedSize(width: Int, height: Int, maxWidth: Int, maxHeight: Int) -> (width: Int, height: Int) {
        let scale = min(Double(maxWidth) / Double(width), Double(maxHeight) / Double(height))
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}

/// Runs `body` on contiguous slices of 0..<count, one per worker (at most `threads`), and waits.
func parallelRows(_ count: Int, threads: Int, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    let workers = max(1, min(threads, count / 8, ProcessInfo.processInfo.activeProcessorCount))
    if workers == 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        body(count * w / workers..<count * (w + 1) / workers)
    }
}
