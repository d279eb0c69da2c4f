/// Direct kernels for stride-1 convolutions with few output channels and several input channels (groups 1,
/// not pointwise). There im2col + GEMM is bound by memory, not arithmetic: each im2col entry is written,
/// packed by OpenBLAS and read for only Cout multiply-adds (8 for EfficientNet's 16->8 stage at 256x160,
/// which took a fifth of the training step), and the input gradient goes through a (rows, kh * kw * Cin)
/// matrix made with K = Cout. These kernels read the image in place, channels in eight-float lanes:
/// - output: four neighbouring output pixels per pass, so each weight vector loaded serves four multiply-adds;
/// - input gradient: with stride 1 it is itself such a convolution, of dy with the kernel flipped and its
///   channel axes swapped (padding dilation * (k - 1) - padding), so it runs through the same loop;
/// - weight gradient: per image row and tap, eight input channels' accumulators stay in registers for the
///   whole row and reach memory once.
/// With one input channel or 32 and more outputs GEMM is as fast or faster (measured per layer).
extension Conv2d {
    var usesDirectKernels: Bool {
        groups == 1 && !isPointwise && stride == (1, 1) && outChannels <= 16 && inChannels >= 8
    }

    /// Stride-1 convolution of `x` (N, H, W, C) into `y` (N, OH, OW, cout) with weights laid out as
    /// (kh, kw, C, lanes) (lanes = cout rounded up to eight, zero padded) and padded `bias` (lanes):
    /// y[n, oy, ox, :] = bias + sum over (ky, kx, c) of x[n, oy - pad + ky * dil, ox - pad + kx * dil, c] * w[ky, kx, c, :]
    private func convolveStride1(_ x: Tensor, _ y: Tensor, cout: Int, weights wt: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>, padding pad: (Int, Int)) {
        let s = ImageShape(x), oh = y.shape[1], ow = y.shape[2], c = s.c
        let lanes = (cout + 7) / 8 * 8, (kh, kw) = kernel
        let zeros = [Float](repeating: 0, count: c)
        zeros.withUnsafeBufferPointer { zeros in
            let zeros = zeros.baseAddress!
            parallelRange(s.n * oh, grain: 1) { outputRows in
                for r in outputRows {
                    let n = r / oh, oy = r % oh
                    let out = y.data + r * ow * cout
                    for ox0 in Swift.stride(from: 0, to: ow, by: 4) {
                        for c8 in Swift.stride(from: 0, to: cout, by: 8) {
                            let start = UnsafeRawPointer(bias + c8).loadUnaligned(as: Lanes.self)
                            var a0 = start, a1 = start, a2 = start, a3 = start
                            for ky in 0..<kh {
                                let iy = oy - pad.0 + ky * dilation.0
                                guard iy >= 0 && iy < s.h else { continue }
                                let row = UnsafePointer(x.data + (n * s.h + iy) * s.w * c)
                                for kx in 0..<kw {
                                    // the four input pixels under this tap, or zeros in the padding / past the row
                                    func at(_ ox: Int) -> UnsafePointer<Float> {
                                        let ix = ox - pad.1 + kx * dilation.1
                                        return ox < ow && ix >= 0 && ix < s.w ? row + ix * c : zeros
                                    }
                                    let p0 = at(ox0), p1 = at(ox0 + 1), p2 = at(ox0 + 2), p3 = at(ox0 + 3)
                                    let w = wt + (ky * kw + kx) * c * lanes + c8
                                    for ci in 0..<c {
                                        let wv = UnsafeRawPointer(w + ci * lanes).loadUnaligned(as: Lanes.self)
                                        a0 = fma(Lanes(repeating: p0[ci]), wv, a0)
                                        a1 = fma(Lanes(repeating: p1[ci]), wv, a1)
                                        a2 = fma(Lanes(repeating: p2[ci]), wv, a2)
                                        a3 = fma(Lanes(repeating: p3[ci]), wv, a3)
                                    }
                                }
                            }
                            storeLanes(a0, out + ox0 * cout, c8, cout)
                            if ox0 + 1 < ow { storeLanes(a1, out + (ox0 + 1) * cout, c8, cout) }
                            if ox0 + 2 < ow { storeLanes(a2, out + (ox0 + 2) * cout, c8, cout) }
                            if ox0 + 3 < ow { storeLanes(a3, out + (ox0 + 3) * cout, c8, cout) }
                        }
                    }
                }
            }
        }
    }

    // x: (N, H, W, Cin) -> y: (N, OH, OW, Cout)
    func directForward(_ x: Tensor, _ s: ImageShape, _ y: Tensor, _ oh: Int, _ ow: Int) {
        let cin = inChannels, cout = outChannels, lanes = (cout + 7) / 8 * 8, taps = kernel.0 * kernel.1
        // w (Cout, kh, kw, Cin) -> (kh, kw, Cin, Cout padded)
        var wt = [Float](repeating: 0, count: taps * cin * lanes), b = [Float](repeating: 0, count: lanes)
        for co in 0..<cout {
            for t in 0..<taps { for ci in 0..<cin { wt[(t * cin + ci) * lanes + co] = weight.value[(co * taps + t) * cin + ci] } }
            b[co] = bias?.value[co] ?? 0
        }
        convolveStride1(x, y, cout: cout, weights: wt, bias: b, padding: padding)
    }

    // dy: (N, OH, OW, Cout) -> dx: (N, H, W, Cin); accumulates weight and bias gradients.
    func directBackward(_ x: Tensor, _ s: ImageShape, _ dy: Tensor, _ dx: Tensor, _ oh: Int, _ ow: Int) {
        let cin = inChannels, cout = outChannels, (kh, kw) = kernel, taps = kh * kw
        if let bias { sumRows(dy.data, dy.count / cout, cout, into: bias.grad.data) }
        directWeightGradient(x, s, dy, oh, ow)
        guard needsInputGradient else { return }
        // dx = dy convolved with w flipped in space, channel axes swapped: (kh, kw, Cout, Cin padded)
        let lanes = (cin + 7) / 8 * 8
        var wf = [Float](repeating: 0, count: taps * cout * lanes)
        for co in 0..<cout {
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let flipped = (kh - 1 - ky) * kw + (kw - 1 - kx)
                    for ci in 0..<cin { wf[(flipped * cout + co) * lanes + ci] = weight.value[((co * kh + ky) * kw + kx) * cin + ci] }
                }
            }
        }
        let pad = (dilation.0 * (kh - 1) - padding.0, dilation.1 * (kw - 1) - padding.1)
        convolveStride1(dy, dx, cout: cin, weights: wf, bias: [Float](repeating: 0, count: lanes), padding: pad)
    }

    // dw[co, ky, kx, ci] += sum over (n, oy, ox) of dy[n, oy, ox, co] * x[n, oy - pad + ky * dil, ox - pad + kx * dil, ci]
    private func directWeightGradient(_ x: Tensor, _ s: ImageShape, _ dy: Tensor, _ oh: Int, _ ow: Int) {
        let cin = inChannels, cout = outChannels, (kh, kw) = kernel, taps = kh * kw
        let lanes = (cout + 7) / 8 * 8
        let parts = sampleParts(s.n)
        let accSize = taps * cin * lanes  // dw as (kh, kw, Cin, Cout padded)
        let partials = (0..<parts).map { _ in Tensor(uninitialized: [accSize]) }
        parallelParts(parts) { part, _ in
            let acc = partials[part].data
            acc.update(repeating: 0, count: accSize)
            for n in chunk(s.n, parts, part) {
                for oy in 0..<oh {
                    let g = UnsafePointer(dy.data + (n * oh + oy) * ow * cout)
                    for ky in 0..<kh {
                        let iy = oy - padding.0 + ky * dilation.0
                        guard iy >= 0 && iy < s.h else { continue }
                        let row = UnsafePointer(x.data + (n * s.h + iy) * s.w * cin)
                        for kx in 0..<kw {
                            // output columns whose tap lands inside the image row
                            let shift = kx * dilation.1 - padding.1
                            let first = max(0, -shift), end = min(ow, s.w - shift)
                            guard first < end else { continue }
                            let a = acc + (ky * kw + kx) * cin * lanes
                            for c8 in Swift.stride(from: 0, to: cout, by: 8) {
                                var ci0 = 0
                                while ci0 + 8 <= cin {
                                    var v0 = Lanes(), v1 = Lanes(), v2 = Lanes(), v3 = Lanes()
                                    var v4 = Lanes(), v5 = Lanes(), v6 = Lanes(), v7 = Lanes()
                                    for ox in first..<end {
                                        let d = loadLanes(g + ox * cout, c8, cout), p = row + (ox + shift) * cin + ci0
                                        v0 = fma(Lanes(repeating: p[0]), d, v0)
                                        v1 = fma(Lanes(repeating: p[1]), d, v1)
                                        v2 = fma(Lanes(repeating: p[2]), d, v2)
                                        v3 = fma(Lanes(repeating: p[3]), d, v3)
                                        v4 = fma(Lanes(repeating: p[4]), d, v4)
                                        v5 = fma(Lanes(repeating: p[5]), d, v5)
                                        v6 = fma(Lanes(repeating: p[6]), d, v6)
                                        v7 = fma(Lanes(repeating: p[7]), d, v7)
                                    }
                                    func flush(_ v: Lanes, _ j: Int) {
                                        let target = UnsafeMutableRawPointer(a + (ci0 + j) * lanes + c8)
                                        target.storeBytes(of: target.loadUnaligned(as: Lanes.self) + v, as: Lanes.self)
                                    }
                                    flush(v0, 0); flush(v1, 1); flush(v2, 2); flush(v3, 3)
                                    flush(v4, 4); flush(v5, 5); flush(v6, 6); flush(v7, 7)
                                    ci0 += 8
                                }
                                for ci in ci0..<cin {  // the last input channels when Cin is not a multiple of 8
                                    var v = Lanes()
                                    for ox in first..<end {
                                        v = fma(Lanes(repeating: row[(ox + shift) * cin + ci]), loadLanes(g + ox * cout, c8, cout), v)
                                    }
                                    let target = UnsafeMutableRawPointer(a + ci * lanes + c8)
                                    target.storeBytes(of: target.loadUnaligned(as: Lanes.self) + v, as: Lanes.self)
                                }
                            }
                        }
                    }
                }
            }
        }
        for partial in partials {  // in part order
            let acc = partial.data
            for co in 0..<cout {
                for t in 0..<taps { for ci in 0..<cin { weight.grad[(co * taps + t) * cin + ci] += acc[(t * cin + ci) * lanes + co] } }
            }
        }
    }
}
