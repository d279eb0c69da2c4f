import Testing
@testable import Neural

/// The same seed and inputs give bit-identical weights, batch-norm statistics, optimizer state and
/// evaluation outputs with 1, 2 or 3 threads: every reduction (weight gradients over the batch, batch-norm
/// sums) adds its parts in an order fixed by the problem size, not by the worker count.
@Suite struct ThreadDeterminismTests {
    /// Everything a run leaves behind, by name: parameters, their gradients, buffers, optimizer slots and
    /// the logits of an evaluation forward after training.
    static func trainedState(threads: Int, model: (Random) -> Network, batch: Int,
                             optimizer: ([(String, Parameter)]) -> Optimizer) -> [(String, Tensor)] {
        withThreads(threads) {
            let rng = Random(seed: 11)
            let net = model(rng)
            let opt = optimizer(net.parameters)
            let x = randomTensor([batch, 64, 48, 1], rng)
            let targets = (0..<batch).map { Float($0 % 2) }
            for _ in 0..<3 {
                opt.zeroGrad()
                _ = net.backward(BCEWithLogits()(net.forward(x), targets).grad)
                opt.step()
            }
            net.setTraining(false)
            let logits = net.forward(x)
            return net.parameters.flatMap { [("param/\($0.0)", $0.1.value), ("grad/\($0.0)", $0.1.grad)] }
                + net.buffers.map { ("buffer/\($0.0)", $0.1) }
                + opt.state.map { ("optim/\($0.0)", $0.1) }
                + [("eval logits", logits)]
        }
    }

    static func expectSameAcrossThreads(model: @escaping (Random) -> Network, batch: Int,
                                        optimizer: @escaping ([(String, Parameter)]) -> Optimizer,
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        let single = trainedState(threads: 1, model: model, batch: batch, optimizer: optimizer)
        #expect(single.contains { $0.0.hasPrefix("optim/") }, sourceLocation: sourceLocation)
        for threads in [2, 3] {
            let other = trainedState(threads: threads, model: model, batch: batch, optimizer: optimizer)
            expectBitIdentical(other, single, "\(threads) threads vs 1", sourceLocation: sourceLocation)
        }
    }

    /// Bottleneck ResNet: 7x7 stem (im2col), pointwise, direct 3x3 (8 and 16 channels), im2col 3x3
    /// (32 channels) and strided 1x1 convolutions; max pooling; AdamW.
    @Test func resNetWithAdamW() {
        Self.expectSameAcrossThreads(
            model: { Models.resnet(.init(bottleneck: true, blocks: [1, 1, 1], width: 8), dropout: 0.2, rng: $0) },
            batch: 4, optimizer: { Adam.adamW($0, learningRate: 1e-2) })
    }

    /// EfficientNetV2: depthwise, squeeze-excite, fused blocks, drop-path; RAdam; an odd batch.
    @Test func efficientNetWithRAdam() {
        Self.expectSameAcrossThreads(
            model: { Models.efficientNetV2(.cpu, dropout: 0.2, dropPath: 0.2, rng: $0) },
            batch: 3, optimizer: { RAdam($0, learningRate: 1e-2, weightDecay: 0.01) })
    }
}
