import Neural

/// The targets of one batch, in sample order.
public struct BatchTargets: Sendable {
    public var cancer: [Float]
    /// One list per binary auxiliary head, in `ModelLayout.binaryHeads` order.
    public var binary: [[Float]]
    /// View class indices (empty without a view head).
    public var views: [Int]
}

/// The loss of each rung and its gradient with respect to the model's logits.
/// baseline: BCE(cancer). multitask: (1 - w) BCE(cancer) + w mean(aux losses), binary heads BCE and the
/// view cross-entropy. selfdistill: BCE(cancer) + BCE of each tapped head, equal weights.
public struct Objective {
    public let recipe: TrainRecipe
    public let layout: ModelLayout

    public init(recipe: TrainRecipe, layout: ModelLayout) {
        self.recipe = recipe
        self.layout = layout
    }

    /// The loss terms by name (for logs) and their weighted sum.
    public struct Loss {
        public var total: Float
        public var terms: [(String, Float)]
    }

    // logits: (N, outputs), taps: (N, 1) each -> loss, dlogits: (N, outputs), dtaps: (N, 1) each
    public func callAsFunction(logits: Tensor, taps: [Tensor], targets: BatchTargets)
        -> (loss: Loss, dLogits: Tensor, dTaps: [Tensor]) {
        let n = logits.shape[0], outputs = layout.outputs
        let bce = BCEWithLogits(posWeight: Float(recipe.posWeight))
        let dLogits = Tensor([n, outputs])
        let auxCount = layout.binaryHeads.count + (layout.views.isEmpty ? 0 : 1)
        let cancerWeight: Float = auxCount > 0 ? Float(1 - recipe.auxWeight) : 1
        let auxWeight: Float = auxCount > 0 ? Float(recipe.auxWeight) / Float(auxCount) : 0

        var terms: [(String, Float)] = []
        var total: Float = 0
        /// Adds `weight` x loss of columns `columns` and scatters its gradient into dLogits.
        func addTerm(_ name: String, _ weight: Float, columns: Range<Int>, _ loss: (Tensor) -> (loss: Float, grad: Tensor)) {
            let part = Tensor([n, columns.count])
            for i in 0..<n { for (j, c) in columns.enumerated() { part[i * columns.count + j] = logits[i * outputs + c] } }
            let (value, grad) = loss(part)
            for i in 0..<n { for (j, c) in columns.enumerated() { dLogits[i * outputs + c] = weight * grad[i * columns.count + j] } }
            terms.append((name, value))
            total += weight * value
        }
        addTerm("cancer", cancerWeight, columns: 0..<1) { bce($0, targets.cancer) }
        for (h, head) in layout.binaryHeads.enumerated() {
            addTerm(head.rawValue, auxWeight, columns: (1 + h)..<(2 + h)) { BCEWithLogits()($0, targets.binary[h]) }
        }
        if !layout.views.isEmpty {
            let first = 1 + layout.binaryHeads.count
            addTerm("view", auxWeight, columns: first..<(first + layout.views.count)) { CrossEntropy()($0, targets.views) }
        }
        var dTaps: [Tensor] = []
        for (i, tap) in taps.enumerated() {
            let (value, grad) = bce(tap, targets.cancer)
            terms.append(("tap\(i)", value))
            total += value
            dTaps.append(grad)
        }
        return (Loss(total: total, terms: terms), dLogits, dTaps)
    }
}
