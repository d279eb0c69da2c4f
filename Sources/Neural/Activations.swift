import Foundation

/// Pointwise nonlinearities, each with its derivative written from the pre-activation z so that fused
/// layers (batch norm + activation) can recompute it in backward instead of storing another tensor.
public enum Activation: String, Sendable {
    case identity, relu, silu, mish, sigmoid

    @inline(__always)
    func apply(_ z: Float) -> Float {
        switch self {
        case .identity: return z
        case .relu: return max(z, 0)
        case .silu: return z / (1 + exp(-z))
        case .mish: return z * tanh(softplus(z))
        case .sigmoid: return 1 / (1 + exp(-z))
        }
    }

    /// d act(z) / dz
    @inline(__always)
    func derivative(_ z: Float) -> Float {
        switch self {
        case .identity: return 1
        case .relu: return z > 0 ? 1 : 0
        case .silu:
            let s = 1 / (1 + exp(-z))
            return s * (1 + z * (1 - s))
        case .mish:
            let t = tanh(softplus(z)), s = 1 / (1 + exp(-z))
            return t + z * s * (1 - t * t)
        case .sigmoid:
            let s = 1 / (1 + exp(-z))
            return s * (1 - s)
        }
    }

    /// In-place over n values, split across cores.
    func apply(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .identity: return
        case .relu: parallelRange(n, grain: 1 << 15) { r in for i in r { p[i] = max(p[i], 0) } }
        default: parallelRange(n, grain: 1 << 13) { r in for i in r { p[i] = apply(p[i]) } }
        }
    }
}

/// log(1 + e^z) with PyTorch's threshold (linear above 20).
@inline(__always)
func softplus(_ z: Float) -> Float { z > 20 ? z : log1p(exp(z)) }

/// A standalone activation layer (ReLU, SiLU, Mish, sigmoid).
public final class ActivationLayer: Layer {
    public let kind: Activation
    private var input: Tensor?

    public init(_ kind: Activation) {
        self.kind = kind
        super.init()
    }

    // out: same shape as x
    public override func forward(_ x: Tensor) -> Tensor {
        input = x
        let y = x.copy()
        kind.apply(y.data, y.count)
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("activation backward before forward") }
        input = nil
        let dx = Tensor(uninitialized: x.shape)
        parallelRange(x.count, grain: 1 << 13) { r in
            for i in r { dx.data[i] = dy.data[i] * kind.derivative(x.data[i]) }
        }
        return dx
    }
}
