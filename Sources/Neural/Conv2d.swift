import Foundation

/// 2-D convolution over NHWC images, as in PyTorch's `nn.Conv2d` (zero padding, any kernel, stride,
/// dilation and groups). Weight layout is (Cout, kh, kw, Cin/groups): each output channel's filter is one
/// contiguous row matching an im2col row, so the convolution is col (M, K) x weight^T (K, Cout).
/// Four paths: 1x1 stride-1 convolutions are GEMMs on the input itself (no copy); depthwise convolutions
/// (groups == Cin == Cout) are a direct SIMD loop; so are convolutions with few output channels
/// (DirectConvolution.swift); everything else is im2col + sgemm per group.
/// Work is split into parts of contiguous samples, fixed by the batch size (`sampleParts`), spread over
/// `Threads.count` workers that call single-threaded sgemm on tiles of output rows (see `forEachTile`).
/// Each part's weight gradient is summed on its own and the parts are added in order, so results do not
/// depend on the thread count.
public final class Conv2d: Layer {
    public let inChannels, outChannels, groups: Int
    public let kernel, stride, padding, dilation: (Int, Int)
    public let weight: Parameter  // (Cout, kh, kw, Cin/groups)
    public let bias: Parameter?  // (Cout)

    private var input: Tensor?  // (N, H, W, Cin), kept for backward
    /// Multiply-accumulates per image of the last forward (for GFLOP/s reports).
    public private(set) var lastMacsPerImage = 0
    private let workspace = Workspace()

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                rng: Random) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels not divisible by groups")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.groups = groups
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        // Kaiming normal, fan-out mode (torchvision's ResNet and timm's EfficientNet initialisation).
        let w = Tensor([outChannels, kernel.0, kernel.1, inChannels / groups])
        let std = (2.0 / Float(kernel.0 * kernel.1 * outChannels / groups)).squareRoot()
        for i in 0..<w.count { w[i] = rng.normal() * std }
        weight = Parameter(w)
        self.bias = bias ? Parameter(Tensor([outChannels]), decays: false) : nil
        super.init()
    }

    /// Square kernel, "same"-style symmetric padding given explicitly.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, rng: Random) {
        self.init(inChannels, outChannels, kernel: (kernel, kernel), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias, rng: rng)
    }

    public override var localParameters: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    var isPointwise: Bool {
        kernel == (1, 1) && stride == (1, 1) && padding == (0, 0) && groups == 1
    }
    var isDepthwise: Bool { groups == inChannels && outChannels == inChannels && groups > 1 }

    func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1) / stride.0 + 1,
         (w + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1) / stride.1 + 1)
    }


    // x: (N, H, W, Cin) -> out: (N, OH, OW, Cout)
    public override func forward(_ x: Tensor) -> Tensor {
        let s = ImageShape(x)
        precondition(s.c == inChannels, "Conv2d expects \(inChannels) channels, got \(s.c)")
        let (oh, ow) = outputSize(s.h, s.w)
        let y = Tensor(uninitialized: [s.n, oh, ow, outChannels])
        input = retainsActivations ? x : nil
        lastMacsPerImage = oh * ow * outChannels * kernel.0 * kernel.1 * inChannels / groups
        if isDepthwise || usesDirectKernels {
            (isDepthwise ? depthwiseForward : directForward)(x, s, y, oh, ow)
            return y
        }
        let (_, og, kg) = groupSizes
        let parts = sampleParts(s.n)
        parallelParts(parts) { part, wk in
            let rows = sampleRows(chunk(s.n, parts, part), oh, ow)
            if isPointwise {
                // y (M, Cout) = x (M, Cin) W^T: one GEMM over all of this part's pixels, no copy.
                gemm(transB: true, m: rows.count, n: outChannels, k: inChannels,
                     a: x.data + rows.lowerBound * inChannels, lda: inChannels, b: weight.value.data,
                     ldb: inChannels, beta: 0, c: y.data + rows.lowerBound * outChannels, ldc: outChannels)
                if let bias { addBias(y.data + rows.lowerBound * outChannels, rows.count, bias.value.data, channels: outChannels) }
                return
            }
            forEachTile(rows) { tile in
                for g in 0..<groups {
                    // col: (tile rows, kh * kw * Cg); y[tile, group g] (rows, og) = col W_g^T
                    let col = workspace.buffer(wk, tile.count * kg)
                    im2col(x, s, tile, oh, ow, g, col)
                    gemm(transB: true, m: tile.count, n: og, k: kg, a: col, lda: kg,
                         b: weight.value.data + g * og * kg, ldb: kg, beta: 0,
                         c: y.data + tile.lowerBound * outChannels + g * og, ldc: outChannels)
                }
                if let bias { addBias(y.data + tile.lowerBound * outChannels, tile.count, bias.value.data, channels: outChannels) }
            }
        }
        return y
    }

    // dy: (N, OH, OW, Cout) -> dx: (N, H, W, Cin); accumulates weight and bias gradients.
    public override func backward(_ dy: Tensor) -> Tensor {
        let x = retained(input)
        input = nil
        let s = ImageShape(x)
        let (oh, ow) = outputSize(s.h, s.w)
        let dx = needsInputGradient ? Tensor(uninitialized: x.shape) : Tensor([0])
        if isDepthwise || usesDirectKernels {
            (isDepthwise ? depthwiseBackward : directBackward)(x, s, dy, dx, oh, ow)
            return dx
        }
        let parts = sampleParts(s.n)
        let gradSize = weight.value.count + outChannels
        let (_, og, kg) = groupSizes
        // Part 0 accumulates straight into the parameter gradients, each later part into its own buffer
        // (dW then db), added in part order below.
        let partials = (1..<max(parts, 1)).map { _ in Tensor(uninitialized: [gradSize]) }
        parallelParts(parts) { part, wk in
            let dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?
            if part == 0 {
                dw = weight.grad.data
                db = bias?.grad.data
            } else {
                dw = partials[part - 1].data
                dw.update(repeating: 0, count: gradSize)
                db = bias == nil ? nil : dw + weight.value.count
            }
            let samples = chunk(s.n, parts, part), rows = sampleRows(samples, oh, ow)
            if let db { sumRows(dy.data + rows.lowerBound * outChannels, rows.count, outChannels, into: db) }
            if isPointwise {
                // dW (Cout, Cin) += dy^T (Cout, M) x (M, Cin); dx (M, Cin) = dy (M, Cout) W (Cout, Cin)
                let dyRows = dy.data + rows.lowerBound * outChannels
                gemm(transA: true, m: outChannels, n: inChannels, k: rows.count, a: dyRows, lda: outChannels,
                     b: x.data + rows.lowerBound * inChannels, ldb: inChannels, beta: 1, c: dw, ldc: inChannels)
                if needsInputGradient {
                    gemm(m: rows.count, n: inChannels, k: outChannels, a: dyRows, lda: outChannels,
                         b: weight.value.data, ldb: inChannels, beta: 0, c: dx.data + rows.lowerBound * inChannels,
                         ldc: inChannels)
                }
                return
            }
            if needsInputGradient {
                (dx.data + samples.lowerBound * s.h * s.w * s.c).update(repeating: 0, count: samples.count * s.h * s.w * s.c)
            }
            forEachTile(rows) { tile in
                let scratch = workspace.buffer(wk, tile.count * kg)
                let dyTile = dy.data + tile.lowerBound * outChannels
                for g in 0..<groups {
                    // dW_g (og, kg) += dy_g^T (og, rows) col (rows, kg), the columns rebuilt tile by tile
                    im2col(x, s, tile, oh, ow, g, scratch)
                    gemm(transA: true, m: og, n: kg, k: tile.count, a: dyTile + g * og, lda: outChannels,
                         b: scratch, ldb: kg, beta: 1, c: dw + g * og * kg, ldc: kg)
                    // dcol (rows, kg) = dy_g W_g, added back to the input positions it was copied from
                    if needsInputGradient {
                        gemm(m: tile.count, n: kg, k: og, a: dyTile + g * og, lda: outChannels,
                             b: weight.value.data + g * og * kg, ldb: kg, beta: 0, c: scratch, ldc: kg)
                        col2im(scratch, s, tile, oh, ow, g, dx)
                    }
                }
            }
        }
        for partial in partials {
            addInto(weight.grad.data, partial.data, weight.value.count)
            if let bias { addInto(bias.grad.data, partial.data + weight.value.count, outChannels) }
        }
        return dx
    }

    /// (input channels, output channels, im2col row length) of one group.
    private var groupSizes: (Int, Int, Int) {
        let cg = inChannels / groups
        return (cg, outChannels / groups, kernel.0 * kernel.1 * cg)
    }

    /// Output rows (flat (n, oy, ox) indices of the (N * OH * OW, Cout) output matrix) of `samples`.
    private func sampleRows(_ samples: Range<Int>, _ oh: Int, _ ow: Int) -> Range<Int> {
        (samples.lowerBound * oh * ow)..<(samples.upperBound * oh * ow)
    }

    /// Calls `body` on consecutive tiles of output rows. A tile's im2col matrix is about 256 KB so that it is
    /// still in L2 when the GEMM reads it (convolutions with few output channels are bound by that traffic);
    /// tiles are at least 1024 rows when the weights are large, since OpenBLAS repacks them on every call.
    /// The backward rebuilds the tiles rather than keeping the forward's columns: keeping them (up to 256 MB
    /// per layer) made each column a round trip through memory and measured no faster.
    private func forEachTile(_ rows: Range<Int>, _ body: (Range<Int>) -> Void) {
        let (_, og, kg) = groupSizes
        let tile = max((1 << 16) / kg, og * kg >= (1 << 14) ? 1024 : 16)
        var start = rows.lowerBound
        while start < rows.upperBound {
            let end = min(start + tile, rows.upperBound)
            body(start..<end)
            start = end
        }
    }

    /// Walks the im2col rows `rows` of group g as segments of contiguous floats:
    /// visit(column offset, input offset, count), the input offset being -1 where the segment is padding.
    /// A window row lying inside the image is one segment of kw * C floats when groups == 1 and there is
    /// no horizontal dilation (kw adjacent pixels of all channels), otherwise one segment per tap.
    @inline(__always)
    private func forEachSegment(_ s: ImageShape, _ rows: Range<Int>, _ oh: Int, _ ow: Int, _ g: Int,
                                _ visit: (Int, Int, Int) -> Void) {
        let (cg, _, kg) = groupSizes
        let kw = kernel.1, windowRow = kw * cg
        let rowsAreContiguous = groups == 1 && dilation.1 == 1
        var n = rows.lowerBound / (oh * ow), oy = rows.lowerBound / ow % oh, ox = rows.lowerBound % ow
        var column = 0
        for _ in rows {
            let ix0 = ox * stride.1 - padding.1
            let rowInside = rowsAreContiguous && ix0 >= 0 && ix0 + kw <= s.w
            for ky in 0..<kernel.0 {
                let out = column + ky * windowRow
                let iy = oy * stride.0 - padding.0 + ky * dilation.0
                guard iy >= 0 && iy < s.h else { visit(out, -1, windowRow); continue }
                let imageRow = (n * s.h + iy) * s.w * s.c + g * cg
                if rowInside { visit(out, imageRow + ix0 * s.c, windowRow); continue }
                for kx in 0..<kw {
                    let ix = ix0 + kx * dilation.1
                    visit(out + kx * cg, ix >= 0 && ix < s.w ? imageRow + ix * s.c : -1, cg)
                }
            }
            column += kg
            ox += 1
            if ox == ow { ox = 0; oy += 1; if oy == oh { oy = 0; n += 1 } }
        }
    }

    // col: (rows, kh * kw * Cg) for group g; zero where the window falls in the padding.
    private func im2col(_ x: Tensor, _ s: ImageShape, _ rows: Range<Int>, _ oh: Int, _ ow: Int, _ g: Int,
                        _ col: UnsafeMutablePointer<Float>) {
        forEachSegment(s, rows, oh, ow, g) { column, at, count in
            if at >= 0 { copyFloats(col + column, x.data + at, count) } else { (col + column).update(repeating: 0, count: count) }
        }
    }

    // Adds each im2col entry back to the input position it was copied from (the transpose of im2col).
    private func col2im(_ col: UnsafeMutablePointer<Float>, _ s: ImageShape, _ rows: Range<Int>, _ oh: Int,
                        _ ow: Int, _ g: Int, _ dx: Tensor) {
        forEachSegment(s, rows, oh, ow, g) { column, at, count in
            if at >= 0 { addInto(dx.data + at, col + column, count) }
        }
    }

    /// Weights rearranged to (kh, kw, C) so the depthwise inner loop runs over contiguous channels.
    private func depthwiseKernel() -> [Float] {
        let c = inChannels, taps = kernel.0 * kernel.1
        var k = [Float](repeating: 0, count: taps * c)
        for ch in 0..<c { for t in 0..<taps { k[t * c + ch] = weight.value[ch * taps + t] } }
        return k
    }

    // Depthwise: out[n, oy, ox, c] = bias[c] + sum_{ky,kx} x[n, iy, ix, c] * w[c, ky, kx]
    private func depthwiseForward(_ x: Tensor, _ s: ImageShape, _ y: Tensor, _ oh: Int, _ ow: Int) {
        let c = s.c
        let k = depthwiseKernel()
        let zeros = [Float](repeating: 0, count: c)
        k.withUnsafeBufferPointer { k in
            zeros.withUnsafeBufferPointer { zeros in
                let b = bias?.value.data ?? UnsafeMutablePointer(mutating: zeros.baseAddress!)
                parallelRange(s.n * oh, grain: 1) { rows in
                    for r in rows {
                        let n = r / oh, oy = r % oh
                        for ox in 0..<ow {
                            let out = y.data + ((n * oh + oy) * ow + ox) * c
                            out.update(from: b, count: c)
                            for ky in 0..<kernel.0 {
                                let iy = oy * stride.0 - padding.0 + ky * dilation.0
                                guard iy >= 0 && iy < s.h else { continue }
                                for kx in 0..<kernel.1 {
                                    let ix = ox * stride.1 - padding.1 + kx * dilation.1
                                    guard ix >= 0 && ix < s.w else { continue }
                                    multiplyAdd(out, x.data + ((n * s.h + iy) * s.w + ix) * c,
                                                k.baseAddress! + (ky * kernel.1 + kx) * c, c)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func depthwiseBackward(_ x: Tensor, _ s: ImageShape, _ dy: Tensor, _ dx: Tensor, _ oh: Int, _ ow: Int) {
        let c = s.c, taps = kernel.0 * kernel.1
        let k = depthwiseKernel()
        let parts = sampleParts(s.n)
        let accSize = taps * c + c  // dW in (kh, kw, C) order, then dbias
        let partials = (0..<parts).map { _ in Tensor(uninitialized: [accSize]) }
        k.withUnsafeBufferPointer { k in
            parallelParts(parts) { part, _ in
                let acc = partials[part].data
                acc.update(repeating: 0, count: accSize)
                for n in chunk(s.n, parts, part) {
                    if needsInputGradient {
                        (dx.data + n * s.h * s.w * c).update(repeating: 0, count: s.h * s.w * c)
                    }
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let g = UnsafePointer(dy.data + ((n * oh + oy) * ow + ox) * c)
                            addInto(acc + taps * c, g, c)
                            for ky in 0..<kernel.0 {
                                let iy = oy * stride.0 - padding.0 + ky * dilation.0
                                guard iy >= 0 && iy < s.h else { continue }
                                for kx in 0..<kernel.1 {
                                    let ix = ox * stride.1 - padding.1 + kx * dilation.1
                                    guard ix >= 0 && ix < s.w else { continue }
                                    let at = ((n * s.h + iy) * s.w + ix) * c, t = ky * kernel.1 + kx
                                    multiplyAdd(acc + t * c, g, x.data + at, c)
                                    if needsInputGradient { multiplyAdd(dx.data + at, g, k.baseAddress! + t * c, c) }
                                }
                            }
                        }
                    }
                }
            }
        }
        for partial in partials {
            let acc = partial.data
            for ch in 0..<c { for t in 0..<taps { weight.grad[ch * taps + t] += acc[t * c + ch] } }
            if let bias { addInto(bias.grad.data, acc + taps * c, c) }
        }
    }
}
