import Foundation

/// What a dropout layer's forward leaves for backward: the scale factors it applied, or the identity.
private enum DropScale<Factors> { case identity, factors(Factors) }

/// Dropout (PyTorch's `nn.Dropout`): in training, zeroes each element with probability p and scales the
/// rest by 1/(1-p); the identity in evaluation. The mask comes from the layer's own generator, forked
/// from the model seed.
public final class Dropout: Layer {
    public let p: Float
    private let rng: Random
    private var kept: DropScale<Tensor>?  // the mask, same shape as x

    public init(_ p: Float, rng: Random) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
        self.p = p
        self.rng = rng
        super.init()
    }

    // out: same shape as x
    public override func forward(_ x: Tensor) -> Tensor {
        guard training && p > 0 else { kept = retainsActivations ? .identity : nil; return x.copy() }
        let m = Tensor(uninitialized: x.shape), y = Tensor(uninitialized: x.shape)
        let keep = 1 / (1 - p)
        for i in 0..<x.count {
            m[i] = rng.uniform() < p ? 0 : keep
            y[i] = x[i] * m[i]
        }
        kept = retainsActivations ? .factors(m) : nil
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        defer { kept = nil }
        guard case .factors(let m) = retained(kept) else { return dy.copy() }
        let dx = Tensor(uninitialized: dy.shape)
        for i in 0..<dy.count { dx[i] = dy[i] * m[i] }
        return dx
    }
}

/// Stochastic depth (timm's `DropPath`): in training, drops a whole sample's residual branch with
/// probability p and scales kept samples by 1/(1-p).
public final class DropPath: Layer {
    public let p: Float
    private let rng: Random
    private var kept: DropScale<[Float]>?  // per sample: 0 or 1 / (1 - p)

    public init(_ p: Float, rng: Random) {
        precondition(p >= 0 && p < 1, "drop-path probability must be in [0, 1)")
        self.p = p
        self.rng = rng
        super.init()
    }

    private func scaled(_ x: Tensor, _ keep: [Float]) -> Tensor {
        let y = Tensor(uninitialized: x.shape)
        let per = x.count / max(x.shape[0], 1)
        for n in 0..<x.shape[0] {
            for i in (n * per)..<((n + 1) * per) { y[i] = x[i] * keep[n] }
        }
        return y
    }

    // x: (N, ...) -> out: same shape
    public override func forward(_ x: Tensor) -> Tensor {
        guard training && p > 0 else { kept = retainsActivations ? .identity : nil; return x.copy() }
        let keep = (0..<x.shape[0]).map { _ in rng.uniform() < p ? 0 : 1 / (1 - p) }
        kept = retainsActivations ? .factors(keep) : nil
        return scaled(x, keep)
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        defer { kept = nil }
        guard case .factors(let keep) = retained(kept) else { return dy.copy() }
        return scaled(dy, keep)
    }
}
