import Testing
@testable import Neural

/// Every convolution path (pointwise GEMM, tiled im2col + GEMM, depthwise, direct kernels) against a naive
/// definition-following loop, all elements of the output and of the input, weight and bias gradients,
/// on shapes chosen so that row tiles cross sample boundaries and both workers take part.
@Suite struct ConvolutionPathTests {
    /// out[n, oy, ox, co] = b[co] + sum over taps and the group's input channels of x * w.
    static func reference(_ conv: Conv2d, _ x: Tensor, _ dy: Tensor) -> (y: Tensor, dx: Tensor, dw: Tensor, db: Tensor) {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = conv.outputSize(h, w)
        let cg = c / conv.groups, og = conv.outChannels / conv.groups
        let (kh, kw) = conv.kernel
        let y = Tensor([n, oh, ow, conv.outChannels]), dx = Tensor(x.shape)
        let dw = Tensor(conv.weight.value.shape), db = Tensor([conv.outChannels])
        for b in 0..<n { for oy in 0..<oh { for ox in 0..<ow { for co in 0..<conv.outChannels {
            let out = ((b * oh + oy) * ow + ox) * conv.outChannels + co
            var sum = conv.bias?.value[co] ?? 0
            db[co] += dy[out]
            for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * conv.stride.0 - conv.padding.0 + ky * conv.dilation.0
                let ix = ox * conv.stride.1 - conv.padding.1 + kx * conv.dilation.1
                guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                for ci in 0..<cg {
                    let at = ((b * h + iy) * w + ix) * c + co / og * cg + ci
                    let wi = ((co * kh + ky) * kw + kx) * cg + ci
                    sum += x[at] * conv.weight.value[wi]
                    dx[at] += dy[out] * conv.weight.value[wi]
                    dw[wi] += dy[out] * x[at]
                }
            } }
            y[out] = sum
        } } } }
        return (y, dx, dw, db)
    }

    @Test(arguments: [
        // (Cin, Cout, kernel, stride, padding, dilation, groups, N, H, W)
        (48, 33, 3, 1, 1, 1, 1, 2, 9, 9),  // im2col + GEMM, 151-row tiles crossing the sample boundary
        (40, 36, 3, 2, 1, 1, 1, 3, 9, 7),  // im2col + GEMM, stride, odd sizes
        (1, 8, 3, 2, 1, 1, 1, 2, 9, 8),  // im2col + GEMM: one input channel (the stems)
        (3, 16, 7, 2, 3, 1, 1, 2, 11, 9),  // im2col + GEMM: ResNet-style 7x7 stride-2 stem
        (2, 8, 3, 3, 1, 2, 1, 2, 10, 11),  // im2col + GEMM: stride 3 with dilation
        (16, 8, 3, 1, 1, 1, 1, 2, 6, 5),  // direct: few output channels
        (9, 16, 3, 1, 1, 1, 1, 2, 7, 9),  // direct: a partial lane group of inputs
        (12, 13, 3, 1, 2, 2, 1, 2, 7, 6),  // direct: dilation, partial lane groups of inputs and outputs
        (10, 5, 3, 1, 0, 1, 1, 2, 6, 7),  // direct: no padding (the input gradient pads by 2)
        (8, 6, 3, 1, 2, 1, 1, 1, 5, 4),  // direct: padding beyond the kernel reach (input gradient pads by 0)
        (8, 4, 1, 1, 1, 1, 1, 2, 3, 4),  // direct: 1x1 with padding (input gradient pads by -1)
        (16, 8, 3, 2, 1, 1, 1, 2, 7, 9),  // im2col + GEMM: few outputs but stride 2
        (4, 6, 3, 1, 2, 2, 2, 2, 7, 6),  // groups and dilation
        (6, 5, 1, 1, 0, 1, 1, 3, 4, 3),  // pointwise
        (6, 5, 1, 2, 0, 1, 1, 2, 5, 5),  // strided 1x1
        (16, 16, 3, 2, 1, 1, 16, 3, 7, 6),  // depthwise
    ])
    func matchesDefinition(_ a: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)) {
        let rng = Random(seed: 5)
        let conv = Conv2d(a.0, a.1, kernel: a.2, stride: a.3, padding: a.4, dilation: a.5, groups: a.6, rng: rng)
        for i in 0..<a.1 { conv.bias!.value[i] = rng.normal() }
        let x = randomTensor([a.7, a.8, a.9, a.0], rng)
        for threads in [1, 2] {
            withThreads(threads) {
                conv.parameters.forEach { $0.1.grad.zero() }
                let y = conv.forward(x)
                let dy = randomTensor(y.shape, rng)
                let dx = conv.backward(dy)
                let r = Self.reference(conv, x, dy)
                let what = "conv \(a) threads \(threads)"
                expectClose(y, r.y, atol: 1e-4, rtol: 1e-4, "\(what) y")
                expectClose(dx, r.dx, atol: 1e-4, rtol: 1e-4, "\(what) dx")
                expectClose(conv.weight.grad, r.dw, atol: 2e-4, rtol: 1e-4, "\(what) dw")
                expectClose(conv.bias!.grad, r.db, atol: 1e-4, rtol: 1e-4, "\(what) db")
            }
        }
    }
}
