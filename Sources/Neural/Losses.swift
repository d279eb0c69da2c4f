import Foundation

/// Binary cross-entropy on logits (PyTorch's `BCEWithLogitsLoss`, mean reduction), with `posWeight`
/// scaling the positive term and label smoothing pulling targets toward 1/2: y' = y (1 - s) + s / 2.
public struct BCEWithLogits: Sendable {
    public var posWeight: Float
    public var labelSmoothing: Float

    public init(posWeight: Float = 1, labelSmoothing: Float = 0) {
        self.posWeight = posWeight
        self.labelSmoothing = labelSmoothing
    }

    /// logits: (N) or (N, 1); targets: N values in [0, 1]. Returns the mean loss and dL/dlogits.
    public func callAsFunction(_ logits: Tensor, _ targets: [Float]) -> (loss: Float, grad: Tensor) {
        precondition(logits.count == targets.count, "\(logits.count) logits for \(targets.count) targets")
        let n = logits.count
        let grad = Tensor(uninitialized: logits.shape)
        var total = 0.0
        for i in 0..<n {
            let x = logits[i], y = targets[i] * (1 - labelSmoothing) + 0.5 * labelSmoothing
            // loss = (1 - y) x + w (log(1 + e^-|x|) + max(-x, 0)), w = 1 + (posWeight - 1) y
            let w = 1 + (posWeight - 1) * y
            total += Double((1 - y) * x + w * (log1p(exp(-abs(x))) + max(-x, 0)))
            grad[i] = ((1 - y) - w / (1 + exp(x))) / Float(n)
        }
        return (Float(total / Double(n)), grad)
    }
}

/// Multi-class cross-entropy on logits (PyTorch's `CrossEntropyLoss`, mean reduction, label smoothing).
public struct CrossEntropy: Sendable {
    public var labelSmoothing: Float

    public init(labelSmoothing: Float = 0) { self.labelSmoothing = labelSmoothing }

    /// logits: (N, K); targets: N class indices. Returns the mean loss and dL/dlogits.
    public func callAsFunction(_ logits: Tensor, _ targets: [Int]) -> (loss: Float, grad: Tensor) {
        let n = logits.shape[0], k = logits.count / max(n, 1)
        precondition(targets.count == n && targets.allSatisfy { (0..<k).contains($0) }, "bad targets for \(logits.shape)")
        let grad = Tensor(uninitialized: logits.shape)
        var total = 0.0
        let smooth = Double(labelSmoothing)
        for i in 0..<n {
            let row = logits.data + i * k
            let m = (0..<k).reduce(-Float.infinity) { max($0, row[$1]) }
            let logSum = log((0..<k).reduce(0.0) { $0 + exp(Double(row[$1] - m)) }) + Double(m)
            var meanNegLogP = 0.0
            for j in 0..<k {
                let logP = Double(row[j]) - logSum
                meanNegLogP -= logP / Double(k)
                let target = (j == targets[i] ? 1 - smooth : 0) + smooth / Double(k)
                grad[i * k + j] = Float((exp(logP) - target) / Double(n))
            }
            total += (1 - smooth) * (logSum - Double(row[targets[i]])) + smooth * meanNegLogP
        }
        return (Float(total / Double(n)), grad)
    }
}
