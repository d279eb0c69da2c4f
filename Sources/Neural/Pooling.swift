/// Max pooling over NHWC windows (PyTorch's `nn.MaxPool2d`: padding counts as -infinity, floor output size;
/// the first maximum in window order wins ties).
public final class MaxPool2d: Layer {
    public let kernel, stride, padding: Int
    /// Kept for backward: the window tap (ky * kernel + kx) that won, for each output element (stored as a
    /// float so that the channel loop runs in lanes and the buffer comes from the tensor pool), and the
    /// input's shape.
    private var kept: (winner: Tensor, inputShape: [Int])?

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        precondition(padding <= kernel / 2, "max-pool padding must be at most half the kernel (as in PyTorch)")
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        super.init()
    }

    // x: (N, H, W, C) -> out: (N, OH, OW, C)
    public override func forward(_ x: Tensor) -> Tensor {
        let s = ImageShape(x)
        let oh = (s.h + 2 * padding - kernel) / stride + 1, ow = (s.w + 2 * padding - kernel) / stride + 1
        let y = Tensor(uninitialized: [s.n, oh, ow, s.c]), arg = Tensor(uninitialized: y.shape)
        parallelRange(s.n * oh, grain: 1) { rows in
            for r in rows {
                let n = r / oh, oy = r % oh
                for ox in 0..<ow {
                    let out = ((n * oh + oy) * ow + ox) * s.c
                    for c8 in Swift.stride(from: 0, to: s.c, by: 8) {
                        var best = Lanes(repeating: -.infinity), tap = Lanes(repeating: -1)
                        for ky in 0..<kernel {
                            let iy = oy * stride - padding + ky
                            guard iy >= 0 && iy < s.h else { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride - padding + kx
                                guard ix >= 0 && ix < s.w else { continue }
                                let v = loadLanes(x.data + ((n * s.h + iy) * s.w + ix) * s.c, c8, s.c)
                                // The first tap in the window always counts (even -inf); later ones must be larger.
                                let wins = (v .> best) .| (tap .< 0)
                                best.replace(with: v, where: wins)
                                tap.replace(with: Float(ky * kernel + kx), where: wins)
                            }
                        }
                        storeLanes(best, y.data + out, c8, s.c)
                        storeLanes(tap, arg.data + out, c8, s.c)
                    }
                }
            }
        }
        kept = retainsActivations ? (arg, x.shape) : nil
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let (arg, inputShape) = retained(kept)
        kept = nil
        let dx = Tensor(inputShape)
        let s = ImageShape(dx), oh = dy.shape[1], ow = dy.shape[2]
        // Windows of one sample only touch that sample's input: split by samples, no write conflicts.
        parallelRange(s.n, grain: 1) { samples in
            for n in samples {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let out = ((n * oh + oy) * ow + ox) * s.c
                        for ch in 0..<s.c {
                            let t = Int(arg.data[out + ch])
                            let iy = oy * stride - padding + t / kernel, ix = ox * stride - padding + t % kernel
                            dx.data[((n * s.h + iy) * s.w + ix) * s.c + ch] += dy.data[out + ch]
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Average pooling over NHWC windows (PyTorch's `nn.AvgPool2d` with floor output size); with
/// `countIncludePad` the divisor is the full window, otherwise only the in-image positions.
public final class AvgPool2d: Layer {
    public let kernel, stride, padding: Int
    public let countIncludePad: Bool
    private var inputShape: [Int]?  // kept for backward

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        self.countIncludePad = countIncludePad
        super.init()
    }

    /// Calls body(inputOffset, outputOffset, 1/divisor) for each (window position, output pixel) pair.
    private func forEachWindow(_ s: ImageShape, _ body: (Int, Int, Float) -> Void) {
        let oh = (s.h + 2 * padding - kernel) / stride + 1, ow = (s.w + 2 * padding - kernel) / stride + 1
        parallelRange(s.n, grain: 1) { samples in
            for n in samples {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let y0 = oy * stride - padding, x0 = ox * stride - padding
                        let ys = max(y0, 0)..<min(y0 + kernel, s.h), xs = max(x0, 0)..<min(x0 + kernel, s.w)
                        let scale = 1 / Float(countIncludePad ? kernel * kernel : ys.count * xs.count)
                        let out = ((n * oh + oy) * ow + ox) * s.c
                        for iy in ys { for ix in xs { body(((n * s.h + iy) * s.w + ix) * s.c, out, scale) } }
                    }
                }
            }
        }
    }

    // x: (N, H, W, C) -> out: (N, OH, OW, C)
    public override func forward(_ x: Tensor) -> Tensor {
        let s = ImageShape(x)
        inputShape = retainsActivations ? x.shape : nil
        let oh = (s.h + 2 * padding - kernel) / stride + 1, ow = (s.w + 2 * padding - kernel) / stride + 1
        let y = Tensor([s.n, oh, ow, s.c])
        forEachWindow(s) { at, out, scale in
            for ch in 0..<s.c { y.data[out + ch] += x.data[at + ch] * scale }
        }
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let dx = Tensor(retained(inputShape))
        inputShape = nil
        let s = ImageShape(dx)
        forEachWindow(s) { at, out, scale in
            for ch in 0..<s.c { dx.data[at + ch] += dy.data[out + ch] * scale }
        }
        return dx
    }
}

/// Global pooling of NHWC feature maps to one vector per image: average, max, or both concatenated
/// (timm's "catavgmax": average first, then max).
public final class GlobalPool: Layer {
    public enum Mode: String, Sendable { case avg, max, catavgmax }
    public let mode: Mode
    private var input: Tensor?  // (N, H, W, C), kept for backward

    public init(_ mode: Mode = .avg) {
        self.mode = mode
        super.init()
    }

    // x: (N, H, W, C) -> out: (N, C), or (N, 2C) for catavgmax
    public override func forward(_ x: Tensor) -> Tensor {
        let s = ImageShape(x)
        input = retainsActivations ? x : nil
        let width = mode == .catavgmax ? 2 * s.c : s.c
        let y = Tensor([s.n, width])
        let hw = s.h * s.w
        parallelRange(s.n, grain: 1) { samples in
            for n in samples {
                let out = y.data + n * width
                if mode != .max {
                    for p in 0..<hw { addInto(out, x.data + (n * hw + p) * s.c, s.c) }
                    for ch in 0..<s.c { out[ch] /= Float(hw) }
                }
                if mode != .avg {
                    let m = out + (mode == .catavgmax ? s.c : 0)
                    m.update(from: x.data + n * hw * s.c, count: s.c)
                    for p in 1..<max(hw, 1) {
                        let row = x.data + (n * hw + p) * s.c
                        for ch in 0..<s.c { m[ch] = max(m[ch], row[ch]) }
                    }
                }
            }
        }
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let x = retained(input)
        input = nil
        let s = ImageShape(x), hw = s.h * s.w, width = dy.shape[1]
        let dx = Tensor(x.shape)
        parallelRange(s.n, grain: 1) { samples in
            for n in samples {
                let g = dy.data + n * width
                if mode != .max {
                    let inv = 1 / Float(hw)
                    for p in 0..<hw {
                        let row = dx.data + (n * hw + p) * s.c
                        for ch in 0..<s.c { row[ch] = g[ch] * inv }
                    }
                }
                if mode != .avg {
                    // The gradient goes to the first position holding the maximum (PyTorch's amax splits
                    // ties evenly; ties have measure zero for real-valued features).
                    let gm = g + (mode == .catavgmax ? s.c : 0)
                    for ch in 0..<s.c {
                        var best = 0
                        for p in 1..<max(hw, 1) where x.data[(n * hw + p) * s.c + ch] > x.data[(n * hw + best) * s.c + ch] {
                            best = p
                        }
                        dx.data[(n * hw + best) * s.c + ch] += gm[ch]
                    }
                }
            }
        }
        return dx
    }
}
