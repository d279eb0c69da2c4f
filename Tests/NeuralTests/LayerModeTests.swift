import Testing
@testable import Neural

/// Training and evaluation mode reach every layer of a model.
@Suite struct LayerModeTests {
    /// In evaluation, dropout and drop-path are the identity: a network built with them gives, with the same
    /// weights, bit for bit the output of one built without (and repeated forwards agree).
    @Test func evaluationTurnsOffDropoutAndDropPath() {
        let regularised = Models.efficientNetV2(.cpu, dropout: 0.3, dropPath: 0.2, rng: Random(seed: 4))
        let plain = Models.efficientNetV2(.cpu, rng: Random(seed: 5))
        let plainTensors = Dictionary(uniqueKeysWithValues: plain.parameters.map { ($0.0, $0.1.value) } + plain.buffers)
        for (path, t) in regularised.parameters.map({ ($0.0, $0.1.value) }) + regularised.buffers {
            assign(plainTensors[path]!, t)
        }
        let x = randomTensor([2, 64, 48, 1], Random(seed: 6))
        regularised.setTraining(false)
        plain.setTraining(false)
        let first = regularised.forward(x), second = regularised.forward(x), reference = plain.forward(x)
        expectBitIdentical([("logits", first)], [("logits", reference)], "with dropout vs without, evaluation")
        expectBitIdentical([("logits", second)], [("logits", first)], "two evaluation forwards")
    }
}
