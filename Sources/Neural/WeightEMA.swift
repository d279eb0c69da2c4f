/// Exponential moving average of a model's weights (buffers are copied), evaluated instead of the raw
/// weights. The effective decay ramps up as min(decay, (1 + t) / (10 + t)) so early averages are not
/// dominated by the initialisation.
public final class WeightEMA {
    public let decay: Float
    public private(set) var updates = 0
    let shadow: [(String, Tensor)]
    private let source: Layer

    public init(of model: Layer, decay: Float = 0.999) {
        self.decay = decay
        source = model
        shadow = (model.parameters.map { ($0.0, $0.1.value) } + model.buffers).map { ($0.0, $0.1.copy()) }
    }

    public func update() {
        updates += 1
        let d = min(decay, Float(1 + updates) / Float(10 + updates))
        let params = source.parameters.count
        for (i, (_, live)) in (source.parameters.map { ($0.0, $0.1.value) } + source.buffers).enumerated() {
            let s = shadow[i].1
            if i < params {
                for j in 0..<s.count { s[j] = d * s[j] + (1 - d) * live[j] }
            } else {
                s.data.update(from: live.data, count: s.count)
            }
        }
    }

    /// The averaged parameters and buffers by path (what checkpoints save as "ema/<path>").
    public var averaged: [(String, Tensor)] { shadow }

    /// Copies the averaged weights and buffers into `model` (same architecture as the source).
    public func copy(into model: Layer) {
        for (i, (_, t)) in (model.parameters.map { ($0.0, $0.1.value) } + model.buffers).enumerated() {
            t.data.update(from: shadow[i].1.data, count: t.count)
        }
    }
}
