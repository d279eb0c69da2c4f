/// A network layer with an explicit backward pass, llm.c style: `forward` keeps what `backward` needs,
/// `backward` takes dL/d(output), accumulates parameter gradients and returns dL/d(input).
/// One forward that retains its activations must precede each backward. Subclasses list their parameters,
/// running buffers and children so that optimizers, checkpoints and EMA can walk the tree by path
/// ("stages.1.0.conv.weight").
open class Layer {
    /// Training mode (batch statistics, dropout active) or evaluation mode.
    public private(set) var training = true
    /// Whether forward keeps what backward needs (the default). Off for inference (evaluation, prediction):
    /// forwards then hold no activations, and a backward after such a forward stops the process.
    public private(set) var retainsActivations = true
    /// False for a network's first layer: its input gradient is never used, so backward skips computing it.
    public var needsInputGradient = true

    public init() {}

    open func forward(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) must override forward") }
    open func backward(_ dy: Tensor) -> Tensor { fatalError("\(type(of: self)) must override backward") }

    /// This layer's own parameters (not its children's), by local name.
    open var localParameters: [(String, Parameter)] { [] }
    /// This layer's own non-learned state saved in checkpoints (batch-norm running statistics).
    open var localBuffers: [(String, Tensor)] { [] }
    /// Direct sub-layers, by local name: every layer the forward uses, also those without parameters
    /// (pooling, dropout), so that modes set on a parent reach them.
    open var children: [(String, Layer)] { [] }

    /// All parameters below this layer, by dotted path, in a fixed order.
    public var parameters: [(String, Parameter)] {
        localParameters + children.flatMap { name, child in child.parameters.map { ("\(name).\($0.0)", $0.1) } }
    }

    public var buffers: [(String, Tensor)] {
        localBuffers + children.flatMap { name, child in child.buffers.map { ("\(name).\($0.0)", $0.1) } }
    }

    public func setTraining(_ on: Bool) {
        training = on
        children.forEach { $0.1.setTraining(on) }
    }

    public func setRetainsActivations(_ on: Bool) {
        retainsActivations = on
        children.forEach { $0.1.setRetainsActivations(on) }
    }

    /// Runs `body` (forwards only) with this layer and all below it in evaluation mode, retaining no
    /// activations; then restores the modes this layer had.
    public func withInference<T>(_ body: () throws -> T) rethrows -> T {
        let (wasTraining, wasRetaining) = (training, retainsActivations)
        setTraining(false)
        setRetainsActivations(false)
        defer {
            setTraining(wasTraining)
            setRetainsActivations(wasRetaining)
        }
        return try body()
    }

    /// What the last forward kept for this backward; stops the process saying why when there is none
    /// (fatalError: the message is printed in release builds too).
    func retained<Kept>(_ kept: Kept?) -> Kept {
        guard let kept else {
            fatalError("\(type(of: self)).backward without the activations of a forward: none since the last "
                       + "backward, or it ran with retainsActivations off (inference)")
        }
        return kept
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.1.value.count } }
}

/// Layers applied in order.
public final class Sequential: Layer {
    public private(set) var layers: [Layer]

    public init(_ layers: [Layer]) {
        self.layers = layers
        super.init()
    }

    public override var needsInputGradient: Bool {
        didSet { layers.first?.needsInputGradient = needsInputGradient }
    }

    public override func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1.forward($0) } }
    public override func backward(_ dy: Tensor) -> Tensor { layers.reversed().reduce(dy) { $1.backward($0) } }
    public override var children: [(String, Layer)] { layers.enumerated().map { (String($0.offset), $0.element) } }
}

/// y = body(x) + shortcut(x), where shortcut is the identity when nil; optionally followed by an activation
/// (ResNet) and with drop-path on the body (EfficientNet).
public final class Residual: Layer {
    let body: Layer
    let shortcut: Layer?
    let dropPath: DropPath?
    let after: Layer?

    public init(body: Layer, shortcut: Layer? = nil, dropPath: DropPath? = nil, after: Layer? = nil) {
        self.body = body
        self.shortcut = shortcut
        self.dropPath = dropPath
        self.after = after
        super.init()
    }

    public override var needsInputGradient: Bool {
        didSet { body.needsInputGradient = needsInputGradient; shortcut?.needsInputGradient = needsInputGradient }
    }

    // out: same shape as body(x)
    public override func forward(_ x: Tensor) -> Tensor {
        var y = body.forward(x)
        if let dropPath { y = dropPath.forward(y) }
        y.add(shortcut?.forward(x) ?? x)
        return after?.forward(y) ?? y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let dsum = after?.backward(dy) ?? dy
        let dbody = body.backward(dropPath?.backward(dsum) ?? dsum)
        guard needsInputGradient else { _ = shortcut?.backward(dsum); return dbody }
        let dskip = shortcut?.backward(dsum) ?? dsum
        dbody.add(dskip)
        return dbody
    }

    public override var children: [(String, Layer)] {
        var c: [(String, Layer)] = [("body", body)]
        if let shortcut { c.append(("shortcut", shortcut)) }
        if let dropPath { c.append(("drop_path", dropPath)) }
        if let after { c.append(("after", after)) }
        return c
    }
}
