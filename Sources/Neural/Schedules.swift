import Foundation

/// A learning rate as a function of the step (0-based), closed-form so it can resume from a checkpoint.
public protocol LearningRateSchedule {
    func learningRate(at step: Int) -> Float
}

/// PyTorch's CosineAnnealingLR: min + (base - min) (1 + cos(pi t / T)) / 2.
public struct CosineAnnealing: LearningRateSchedule {
    public var base, minimum: Float
    public var totalSteps: Int

    public init(base: Float, totalSteps: Int, minimum: Float = 0) {
        self.base = base
        self.totalSteps = totalSteps
        self.minimum = minimum
    }

    public func learningRate(at step: Int) -> Float {
        let t = Float(min(step, totalSteps)) / Float(max(totalSteps, 1))
        return minimum + (base - minimum) * (1 + cos(.pi * t)) / 2
    }
}

/// PyTorch's OneCycleLR (cosine, two phases): from max/divFactor up to max over pctStart of the steps,
/// then down to max/(divFactor * finalDivFactor).
public struct OneCycle: LearningRateSchedule {
    public var maximum: Float
    public var totalSteps: Int
    public var pctStart, divFactor, finalDivFactor: Float

    public init(maximum: Float, totalSteps: Int, pctStart: Float = 0.3, divFactor: Float = 25,
                finalDivFactor: Float = 1e4) {
        self.maximum = maximum
        self.totalSteps = totalSteps
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
    }

    public func learningRate(at step: Int) -> Float {
        let initial = Double(maximum / divFactor), minimum = initial / Double(finalDivFactor)
        let peakStep = Double(pctStart * Float(totalSteps)) - 1, lastStep = Double(totalSteps - 1)
        let t = Double(step)
        func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double { end + (start - end) / 2 * (1 + cos(.pi * pct)) }
        if t <= peakStep { return Float(anneal(initial, Double(maximum), t / peakStep)) }
        return Float(anneal(Double(maximum), minimum, (t - peakStep) / (lastStep - peakStep)))
    }
}

/// Linear warmup in front of another schedule: the factor rises from `startFactor` to 1 over `steps`.
public struct Warmup<Inner: LearningRateSchedule>: LearningRateSchedule {
    public var inner: Inner
    public var steps: Int
    public var startFactor: Float

    public init(_ inner: Inner, steps: Int, startFactor: Float = 0.01) {
        self.inner = inner
        self.steps = steps
        self.startFactor = startFactor
    }

    public func learningRate(at step: Int) -> Float {
        let factor = step >= steps ? 1 : startFactor + (1 - startFactor) * Float(step) / Float(steps)
        return inner.learningRate(at: step) * factor
    }
}
