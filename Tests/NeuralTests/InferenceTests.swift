import Testing
@testable import Neural

/// Passes its input through unchanged and remembers it weakly: after a forward the tensor is still alive
/// only if a later layer kept it for backward.
private final class Probe: Layer {
    weak var seen: Tensor?
    override func forward(_ x: Tensor) -> Tensor {
        seen = x
        return x
    }
    override func backward(_ dy: Tensor) -> Tensor { dy }
}

/// Inference forwards keep no activations; a backward after one stops the process.
@Suite struct InferenceTests {
    /// A network in which a probe comes before every layer that keeps its input for backward: each kind of
    /// convolution, batch norm, activation, squeeze-excite, linear and global pooling (max and average
    /// pooling and dropout follow other layers directly: they keep other things).
    static func probedNetwork() -> Network {
        let rng = Random(seed: 8)
        let stem = Sequential([
            Conv2d(1, 8, kernel: 3, stride: 2, padding: 1, rng: rng), Probe(),  // im2col
            BatchNorm(8), Probe(),
            ActivationLayer(.silu),
            MaxPool2d(kernel: 3, stride: 2, padding: 1), Probe(),
        ])
        let stage = Sequential([
            Blocks.mbConv(8, 8, expand: 2, kernel: 3, stride: 1, seRatio: 0.25, dropPath: 0.1, rng: rng),
            AvgPool2d(kernel: 2), Probe(),
            Conv2d(8, 8, kernel: 3, padding: 1, rng: rng), Probe(),  // direct
            Conv2d(8, 16, kernel: 1, rng: rng), Probe(),  // pointwise
            SqueezeExcite(channels: 16, reduced: 4, rng: rng), Probe(),
            Conv2d(16, 16, kernel: 3, padding: 1, groups: 16, rng: rng), Probe(),  // depthwise
            Linear(16, 16, rng: rng),
            Dropout(0.2, rng: rng.fork()), Probe(),
        ])
        return Network(stem: stem, stages: [stage], pool: GlobalPool(.catavgmax), dropout: Dropout(0.3, rng: rng.fork()),
                       classifier: Linear(32, 2, rng: rng))
    }

    private static func probes(_ layer: Layer) -> [Probe] {
        (layer as? Probe).map { [$0] } ?? layer.children.flatMap { probes($0.1) }
    }

    @Test func inferenceForwardKeepsNoActivations() {
        let net = Self.probedNetwork()
        let x = randomTensor([2, 32, 24, 1], Random(seed: 9))
        let probes = Self.probes(net)
        #expect(probes.count == 9)
        // An evaluation forward that retains (the default) keeps each probed input: the probes see it.
        net.setTraining(false)
        let retained = net.forward(x)
        for (i, probe) in probes.enumerated() { #expect(probe.seen != nil, "the input of the layer after probe \(i) is not kept") }
        _ = net.backward(retained)

        let logits = net.withInference { net.forward(x) }
        for (i, probe) in probes.enumerated() { #expect(probe.seen == nil, "the input of the layer after probe \(i) is kept") }
        expectBitIdentical([("logits", logits)], [("logits", retained)], "inference vs evaluation forward")
        #expect(!net.training && net.retainsActivations, "withInference restores the modes")
    }

    @Test func backwardAfterInferenceForwardStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let net = Models.tinyCNN(rng: Random(seed: 1))
            let logits = net.withInference { net.forward(Tensor([1, 16, 16, 1])) }
            _ = net.backward(logits)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("Linear.backward without the activations of a forward"), "stderr: \(stderr)")
    }
}
