import Foundation

/// Pointwise nonlinearities, each with its derivative written from the pre-activation z so that fused
/// layers (batch norm + activation) can recompute it in backward instead of storing another tensor.
/// Evaluated eight lanes at a time with a vector exp (see VectorMath.swift).
public enum Activation: String, Sendable {
    case identity, relu, silu, mish, sigmoid

    /// act(z) in eight lanes (vector exp: no libm call per element).
    @inline(__always)
    func apply(_ z: Lanes) -> Lanes {
        switch self {
        case .identity: return z
        case .relu: return z.replacing(with: 0, where: z .< 0)
        case .silu: return z * logistic(z)
        case .mish: return z * tanhSoftplus(z)
        case .sigmoid: return logistic(z)
        }
    }

    /// d act(z) / dz in eight lanes.
    @inline(__always)
    func derivative(_ z: Lanes) -> Lanes {
        switch self {
        case .identity: return Lanes(repeating: 1)
        case .relu: return Lanes(repeating: 1).replacing(with: 0, where: z .<= 0)
        case .silu:
            let s = logistic(z)
            return s * (1 + z * (1 - s))
        case .mish:
            let t = tanhSoftplus(z), s = logistic(z)
            return t + z * s * (1 - t * t)
        case .sigmoid:
            let s = logistic(z)
            return s * (1 - s)
        }
    }

    /// dL/dz = dy * act'(z) in eight lanes; ReLU passes dy where z > 0 (no multiply, as PyTorch's threshold).
    @inline(__always)
    func backward(_ dy: Lanes, at z: Lanes) -> Lanes {
        self == .relu ? dy.replacing(with: 0, where: z .<= 0) : dy * derivative(z)
    }
}

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
        input = retainsActivations ? x : nil
        let y = Tensor(uninitialized: x.shape), n = x.count, act = kind
        parallelRange(n, grain: 1 << 14) { r in
            for i in stride(from: r.lowerBound, to: r.upperBound, by: 8) {
                storeLanes(act.apply(loadLanes(x.data, i, r.upperBound)), y.data, i, r.upperBound)
            }
        }
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let x = retained(input)
        input = nil
        let dx = Tensor(uninitialized: x.shape), act = kind
        parallelRange(x.count, grain: 1 << 14) { r in
            for i in stride(from: r.lowerBound, to: r.upperBound, by: 8) {
                let g = act.backward(loadLanes(dy.data, i, r.upperBound), at: loadLanes(x.data, i, r.upperBound))
                storeLanes(g, dx.data, i, r.upperBound)
            }
        }
        return dx
    }
}
