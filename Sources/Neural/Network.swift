import Foundation

/// An image classifier: stem, stages, optional head convolution, global pooling, dropout, linear.
/// Taps expose the feature maps after chosen stages (for auxiliary heads: multi-task, self-distillation);
/// their gradients come back through `backward(_:tapGradients:)`.
/// One thread at a time: layers keep per-call state for backward, so a forward or backward that starts
/// while another runs on the same network stops the process with a message rather than corrupting the
/// other call (two threads need two models; a checkpoint saved from one loads into the other).
public final class Network: Layer {
    public let stem: Layer
    public let stages: [Layer]
    public let headConv: Layer?
    public let pool: GlobalPool
    public let dropout: Dropout?
    public let classifier: Linear
    /// Stage indices whose outputs are kept in `features` after each forward.
    public var taps: Set<Int> = []
    public private(set) var features: [Int: Tensor] = [:]
    /// Whether a forward or backward is running (see `beginUse`).
    private var inUse = false
    private let useLock = NSLock()
    static let concurrentUseMessage =
        "Network used from two threads at once; give each thread its own model (Checkpoint can copy it)"

    public init(stem: Layer, stages: [Layer], headConv: Layer? = nil, pool: GlobalPool, dropout: Dropout? = nil,
                classifier: Linear) {
        self.stem = stem
        self.stages = stages
        self.headConv = headConv
        self.pool = pool
        self.dropout = dropout
        self.classifier = classifier
        super.init()
        // The image needs no gradient: the stem skips computing it.
        stem.needsInputGradient = false
    }

    public override var children: [(String, Layer)] {
        var c: [(String, Layer)] = [("stem", stem)]
        c += stages.enumerated().map { ("stages.\($0.offset)", $0.element) }
        if let headConv { c.append(("head", headConv)) }
        c.append(("pool", pool))
        if let dropout { c.append(("dropout", dropout)) }
        c.append(("classifier", classifier))
        return c
    }

    /// Claims the network for one forward or backward: false, claiming nothing, while another call holds
    /// it. The check behind the refusal in `forward` and `backward`, testable without stopping a process.
    func beginUse() -> Bool {
        useLock.lock()
        defer { useLock.unlock() }
        if inUse { return false }
        inUse = true
        return true
    }

    func endUse() {
        useLock.lock()
        inUse = false
        useLock.unlock()
    }

    /// Runs `body` holding the network; stops the process if another call holds it (fatalError: the
    /// message is printed in release builds too).
    private func exclusively<T>(_ body: () -> T) -> T {
        guard beginUse() else { fatalError(Self.concurrentUseMessage) }
        defer { endUse() }
        return body()
    }

    // x: (N, H, W, Cin) -> logits: (N, classes)
    public override func forward(_ x: Tensor) -> Tensor {
        exclusively {
            features = [:]
            var h = stem.forward(x)
            for (i, stage) in stages.enumerated() {
                h = stage.forward(h)
                if taps.contains(i) { features[i] = h }
            }
            if let headConv { h = headConv.forward(h) }
            h = pool.forward(h)
            if let dropout { h = dropout.forward(h) }
            return classifier.forward(h)
        }
    }

    public override func backward(_ dy: Tensor) -> Tensor { backward(dy, tapGradients: [:]) }

    /// Backward from the logits' gradient plus gradients arriving at tapped feature maps.
    public func backward(_ dy: Tensor, tapGradients: [Int: Tensor]) -> Tensor {
        exclusively {
            var g = classifier.backward(dy)
            if let dropout { g = dropout.backward(g) }
            g = pool.backward(g)
            if let headConv { g = headConv.backward(g) }
            for i in stages.indices.reversed() {
                if let extra = tapGradients[i] { g.add(extra) }
                g = stages[i].backward(g)
            }
            return stem.backward(g)
        }
    }

    /// Multiply-accumulates of one image's forward pass (convolutions and linear layers), measured by a
    /// probe forward in inference; a training step costs about three times this.
    public func macsPerImage(height: Int, width: Int, channels: Int) -> Int {
        _ = withInference { forward(Tensor([1, height, width, channels])) }
        func walk(_ layer: Layer) -> Int {
            var own = 0
            if let conv = layer as? Conv2d { own = conv.lastMacsPerImage }
            if let linear = layer as? Linear { own = linear.inFeatures * linear.outFeatures }
            return own + layer.children.reduce(0) { $0 + walk($1.1) }
        }
        return walk(self)
    }
}
