import Foundation

/// An optimizer over a model's parameters with per-parameter state tensors ("slots") that checkpoints save.
/// Weight decay applies to parameters whose `decays` flag is set (builders clear it for norms and biases).
open class Optimizer {
    public let parameters: [(String, Parameter)]
    public var learningRate: Float
    public var weightDecay: Float
    /// Number of `step()` calls so far (Adam's bias correction uses it; checkpoints keep it).
    public internal(set) var stepCount = 0
    /// Slot name -> one tensor per parameter, created on first use.
    var slots: [String: [Tensor]] = [:]

    public init(_ parameters: [(String, Parameter)], learningRate: Float, weightDecay: Float) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    public func zeroGrad() { parameters.forEach { $0.1.grad.zero() } }

    open func step() { fatalError("\(type(of: self)) must override step") }

    /// The state tensor `name` of parameter i, zero-initialised on first use.
    func slot(_ name: String, _ i: Int) -> Tensor {
        if slots[name] == nil { slots[name] = parameters.map { Tensor($0.1.value.shape) } }
        return slots[name]![i]
    }

    /// All state tensors by "slot/parameter path", for checkpoints.
    open var state: [(String, Tensor)] {
        slots.keys.sorted().flatMap { name in zip(parameters, slots[name]!).map { ("\(name)/\($0.0.0)", $0.1) } }
    }

    /// Restores slots saved under "slot/parameter path" (see `state`).
    open func restore(step: Int, state: [String: Tensor]) {
        stepCount = step
        slots = [:]
        for (key, tensor) in state {
            guard let slash = key.firstIndex(of: "/") else { continue }
            let name = String(key[..<slash]), path = String(key[key.index(after: slash)...])
            guard let i = parameters.firstIndex(where: { $0.0 == path }) else { continue }
            slot(name, i).data.update(from: tensor.data, count: tensor.count)
        }
    }

    /// Runs `update(range)` over a parameter's elements, split across cores when large.
    func elementwise(_ count: Int, _ update: (Range<Int>) -> Void) {
        parallelRange(count, grain: 1 << 16, update)
    }
}

/// SGD with momentum and Nesterov, as PyTorch: g += wd p; buf = g on the first step, then
/// buf = momentum buf + g; Nesterov uses g + momentum buf; p -= lr * that.
public final class SGD: Optimizer {
    public var momentum: Float
    public var nesterov: Bool

    public init(_ parameters: [(String, Parameter)], learningRate: Float, momentum: Float = 0, nesterov: Bool = false,
                weightDecay: Float = 0) {
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override func step() {
        let first = stepCount == 0
        stepCount += 1
        for (i, (_, p)) in parameters.enumerated() {
            let w = p.value.data, g = p.grad.data, wd = p.decays ? weightDecay : 0
            let buf = momentum != 0 ? slot("momentum_buffer", i).data : nil
            let lr = learningRate, mom = momentum, nesterov = nesterov
            elementwise(p.value.count) { r in
                for j in r {
                    var d = g[j] + wd * w[j]
                    if let buf {
                        buf[j] = first ? d : mom * buf[j] + d
                        d = nesterov ? d + mom * buf[j] : buf[j]
                    }
                    w[j] -= lr * d
                }
            }
        }
    }
}

/// Adam (L2 weight decay added to the gradient) or AdamW (decoupled: p *= 1 - lr wd), with PyTorch's
/// arithmetic: p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
public final class Adam: Optimizer {
    public var beta1, beta2, eps: Float
    public let decoupled: Bool

    public init(_ parameters: [(String, Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.decoupled = decoupled
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay)
    }

    /// AdamW with PyTorch's default weight decay of 0.01.
    public static func adamW(_ parameters: [(String, Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
                             beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
             decoupled: true)
    }

    public override func step() {
        stepCount += 1
        let t = Float(stepCount)
        let stepSize = learningRate / (1 - pow(beta1, t))
        let sqrtCorrection2 = (1 - pow(beta2, t)).squareRoot()
        let (b1, b2, eps, lr, decoupled) = (beta1, beta2, self.eps, learningRate, self.decoupled)
        for (i, (_, p)) in parameters.enumerated() {
            let w = p.value.data, g = p.grad.data, wd = p.decays ? weightDecay : 0
            let m = slot("exp_avg", i).data, v = slot("exp_avg_sq", i).data
            elementwise(p.value.count) { r in
                for j in r {
                    var grad = g[j]
                    if decoupled { w[j] *= 1 - lr * wd } else { grad += wd * w[j] }
                    m[j] = b1 * m[j] + (1 - b1) * grad
                    v[j] = b2 * v[j] + (1 - b2) * grad * grad
                    w[j] -= stepSize * m[j] / (v[j].squareRoot() / sqrtCorrection2 + eps)
                }
            }
        }
    }
}

/// Rectified Adam (PyTorch's `RAdam`): plain momentum SGD while the variance estimate is unreliable
/// (rho_t <= 5), then Adam scaled by the rectification term.
public final class RAdam: Optimizer {
    public var beta1, beta2, eps: Float

    public init(_ parameters: [(String, Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override func step() {
        stepCount += 1
        let t = Double(stepCount), b1 = Double(beta1), b2 = Double(beta2)
        let correction1 = 1 - pow(b1, t), correction2 = 1 - pow(b2, t)
        let rhoInf = 2 / (1 - b2) - 1
        let rho = rhoInf - 2 * t * pow(b2, t) / correction2
        let rectify = rho > 5
        let rect = rectify ? ((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho)).squareRoot() : 0
        let lr = learningRate, eps = self.eps, fb1 = beta1, fb2 = beta2
        let stepSize = Float(Double(lr) / correction1), sqrtCorrection2 = Float(correction2.squareRoot())
        let rectF = Float(rect)
        for (i, (_, p)) in parameters.enumerated() {
            let w = p.value.data, g = p.grad.data, wd = p.decays ? weightDecay : 0
            let m = slot("exp_avg", i).data, v = slot("exp_avg_sq", i).data
            elementwise(p.value.count) { r in
                for j in r {
                    let grad = g[j] + wd * w[j]
                    m[j] = fb1 * m[j] + (1 - fb1) * grad
                    v[j] = fb2 * v[j] + (1 - fb2) * grad * grad
                    if rectify {
                        w[j] -= stepSize * m[j] * rectF * (sqrtCorrection2 / (v[j].squareRoot() + eps))
                    } else {
                        w[j] -= stepSize * m[j]
                    }
                }
            }
        }
    }
}

/// Lookahead (Zhang et al. 2019): every k inner steps, slow += alpha (fast - slow) and fast = slow.
public final class Lookahead: Optimizer {
    public let inner: Optimizer
    public let k: Int
    public let alpha: Float

    public init(_ inner: Optimizer, k: Int = 5, alpha: Float = 0.5) {
        self.inner = inner
        self.k = k
        self.alpha = alpha
        super.init(inner.parameters, learningRate: inner.learningRate, weightDecay: inner.weightDecay)
        for (i, (_, p)) in parameters.enumerated() { slot("slow", i).data.update(from: p.value.data, count: p.value.count) }
    }

    /// The slow weights and the inner optimizer's slots (their names do not collide).
    public override var state: [(String, Tensor)] { super.state + inner.state }

    public override func restore(step: Int, state: [String: Tensor]) {
        super.restore(step: step, state: state.filter { $0.key.hasPrefix("slow/") })
        inner.restore(step: step, state: state.filter { !$0.key.hasPrefix("slow/") })
    }

    public override func step() {
        inner.learningRate = learningRate
        inner.step()
        stepCount += 1
        guard stepCount % k == 0 else { return }
        for (i, (_, p)) in parameters.enumerated() {
            let slow = slot("slow", i).data, fast = p.value.data, a = alpha
            elementwise(p.value.count) { r in
                for j in r {
                    slow[j] += a * (fast[j] - slow[j])
                    fast[j] = slow[j]
                }
            }
        }
    }
}
