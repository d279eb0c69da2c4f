import Foundation

/// Squeeze-and-excitation: per-image channel gates from the global average,
/// gate = sigmoid(expand(act(reduce(mean_hw(x))))), out = x * gate.
public final class SqueezeExcite: Layer {
    public let reduce: Linear
    public let expand: Linear
    private let act: ActivationLayer
    private var kept: (input: Tensor, gate: Tensor)?  // (N, H, W, C), (N, C), kept for backward

    public init(channels: Int, reduced: Int, activation: Activation = .silu, rng: Random) {
        reduce = Linear(channels, reduced, rng: rng)
        expand = Linear(reduced, channels, rng: rng)
        act = ActivationLayer(activation)
        super.init()
    }

    public override var children: [(String, Layer)] { [("conv_reduce", reduce), ("act", act), ("conv_expand", expand)] }

    // x: (N, H, W, C) -> out: (N, H, W, C)
    public override func forward(_ x: Tensor) -> Tensor {
        let s = ImageShape(x), hw = s.h * s.w
        // squeezed (N, C) = mean over positions
        let squeezed = Tensor([s.n, s.c])
        parallelRange(s.n, grain: 1) { samples in
            for n in samples {
                let sum = squeezed.data + n * s.c
                sumRows(x.data + n * hw * s.c, hw, s.c, into: sum)
                for ch in 0..<s.c { sum[ch] /= Float(hw) }
            }
        }
        let g = expand.forward(act.forward(reduce.forward(squeezed)))
        for i in Swift.stride(from: 0, to: g.count, by: 8) { storeLanes(logistic(loadLanes(g.data, i, g.count)), g.data, i, g.count) }
        // out = x * gate[n] (broadcast over positions)
        let y = Tensor(uninitialized: x.shape)
        parallelRange(s.n * hw, grain: 256) { pixels in
            for pix in pixels {
                let gate = g.data + pix / hw * s.c, xr = x.data + pix * s.c, yr = y.data + pix * s.c
                for i in Swift.stride(from: 0, to: s.c, by: 8) {
                    storeLanes(loadLanes(xr, i, s.c) * loadLanes(gate, i, s.c), yr, i, s.c)
                }
            }
        }
        kept = retainsActivations ? (x, g) : nil
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let (x, g) = retained(kept)
        kept = nil
        let s = ImageShape(x), hw = s.h * s.w
        // dgate[n, c] = sum_hw dy * x, then through the sigmoid: dpre = dgate * g * (1 - g)
        let dpre = Tensor([s.n, s.c])
        parallelRange(s.n, grain: 1) { samples in
            for n in samples {
                let d = dpre.data + n * s.c, gn = g.data + n * s.c
                for p in 0..<hw { multiplyAdd(d, dy.data + (n * hw + p) * s.c, x.data + (n * hw + p) * s.c, s.c) }
                for ch in 0..<s.c { d[ch] *= gn[ch] * (1 - gn[ch]) }
            }
        }
        let dsqueezed = reduce.backward(act.backward(expand.backward(dpre)))
        // dx = dy * gate + dsqueezed / HW (broadcast over positions)
        let dx = Tensor(uninitialized: x.shape)
        let spread = Lanes(repeating: 1 / Float(hw))
        parallelRange(s.n * hw, grain: 256) { pixels in
            for pix in pixels {
                let n = pix / hw, gate = g.data + n * s.c, ds = dsqueezed.data + n * s.c
                let dyr = dy.data + pix * s.c, dxr = dx.data + pix * s.c
                for i in Swift.stride(from: 0, to: s.c, by: 8) {
                    let v = fma(loadLanes(ds, i, s.c), spread, loadLanes(dyr, i, s.c) * loadLanes(gate, i, s.c))
                    storeLanes(v, dxr, i, s.c)
                }
            }
        }
        return dx
    }
}
