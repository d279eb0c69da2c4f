import Testing
@testable import Neural

/// Finite-difference checks of every layer's backward (independent of PyTorch).
@Suite struct GradientCheckTests {
    let rng = Random(seed: 11)

    @Test func convolutions() {
        gradientCheck(Conv2d(3, 4, kernel: 3, stride: 2, padding: 1, rng: rng), input: randomTensor([2, 6, 5, 3], rng))
        gradientCheck(Conv2d(4, 6, kernel: (3, 2), stride: (1, 2), padding: (2, 1), dilation: (2, 1), groups: 2,
                             bias: false, rng: rng), input: randomTensor([2, 7, 6, 4], rng))
        gradientCheck(Conv2d(5, 3, kernel: 1, rng: rng), input: randomTensor([2, 3, 4, 5], rng))
        gradientCheck(Conv2d(5, 3, kernel: 1, stride: 2, rng: rng), input: randomTensor([2, 5, 4, 5], rng))
        gradientCheck(Conv2d(9, 9, kernel: 3, stride: 2, padding: 1, groups: 9, rng: rng), input: randomTensor([2, 7, 7, 9], rng))
    }

    @Test func normalisationAndActivations() {
        for act in [Activation.identity, .relu, .silu, .mish, .sigmoid] {
            let bn = BatchNorm(5, activation: act)
            for i in 0..<5 { bn.gamma.value[i] = 1 + 0.3 * rng.normal(); bn.beta.value[i] = 0.2 * rng.normal() }
            gradientCheck(bn, input: randomTensor([3, 4, 2, 5], rng), eps: 3e-3)
            gradientCheck(ActivationLayer(act), input: randomTensor([4, 7], rng), eps: 1e-3)
        }
        let eval = BatchNorm(4)
        eval.setTraining(false)
        gradientCheck(eval, input: randomTensor([2, 3, 3, 4], rng))
    }

    @Test func poolingAndLinear() {
        gradientCheck(MaxPool2d(kernel: 3, stride: 2, padding: 1), input: randomTensor([2, 6, 7, 3], rng), eps: 1e-3)
        gradientCheck(AvgPool2d(kernel: 3, stride: 2, padding: 1), input: randomTensor([2, 6, 7, 3], rng))
        gradientCheck(AvgPool2d(kernel: 2, padding: 1, countIncludePad: false), input: randomTensor([2, 5, 5, 3], rng))
        for mode in [GlobalPool.Mode.avg, .max, .catavgmax] {
            gradientCheck(GlobalPool(mode), input: randomTensor([2, 3, 4, 5], rng), eps: 1e-3)
        }
        gradientCheck(Linear(6, 3, rng: rng), input: randomTensor([4, 6], rng))
        gradientCheck(SqueezeExcite(channels: 6, reduced: 2, rng: rng), input: randomTensor([2, 3, 3, 6], rng))
    }

    /// Blocks stack batch norms, so float32 rounding dominates small steps: eps 3e-2 is the sweet spot
    /// (worst relative error 0.3% on an MBConv, against 1.7% at 3e-3).
    @Test func blocks() {
        gradientCheck(Blocks.mbConv(8, 8, expand: 2, kernel: 3, stride: 1, seRatio: 0.25, rng: rng),
                      input: randomTensor([2, 5, 5, 8], rng), eps: 3e-2, atol: 5e-3, rtol: 2e-2)
        gradientCheck(Blocks.fusedMBConv(4, 8, expand: 2, kernel: 3, stride: 2, rng: rng),
                      input: randomTensor([2, 6, 6, 4], rng), eps: 3e-2, atol: 5e-3, rtol: 2e-2)
        // ResNet blocks: ReLU kinks make finite differences meaningless where a unit switches, so those
        // coordinates are skipped; evaluation-mode batch norm keeps float32 noise low enough for small steps.
        // (Training-mode batch norm inside a residual block is covered by the MBConv checks above.)
        for block in [Blocks.bottleneck(8, 4, stride: 2, rng: rng), Blocks.basicBlock(4, 4, stride: 1, rng: rng),
                      Blocks.basicBlock(4, 8, stride: 2, rng: rng)] {
            block.setTraining(false)
            let channels = (block.children.first!.1.children.first!.1.children.first!.1 as! Conv2d).inChannels
            gradientCheck(block, input: randomTensor([2, 6, 6, channels], rng), eps: 1e-2, skipKinks: true)
        }
    }

    /// Central differences of a loss over every logit against the returned gradient.
    func checkLoss(_ logits: Tensor, _ loss: (Tensor) -> (loss: Float, grad: Tensor),
                   sourceLocation: SourceLocation = #_sourceLocation) {
        let grad = loss(logits).grad
        for i in 0..<logits.count {
            let saved = logits[i]
            logits[i] = saved + 1e-2
            let plus = loss(logits).loss
            logits[i] = saved - 1e-2
            let minus = loss(logits).loss
            logits[i] = saved
            #expect(abs(grad[i] - (plus - minus) / 2e-2) < 1e-3, "logit \(i)", sourceLocation: sourceLocation)
        }
    }

    @Test func lossesAgainstFiniteDifferences() {
        let bce = BCEWithLogits(posWeight: 2.5, labelSmoothing: 0.2)
        checkLoss(randomTensor([6], rng)) { bce($0, [1, 0, 0, 1, 0.5, 0]) }
        let ce = CrossEntropy(labelSmoothing: 0.1)
        checkLoss(randomTensor([3, 4], rng)) { ce($0, [2, 0, 1]) }
    }

    /// Dropout and drop-path are random: check that backward applies exactly the forward mask and that
    /// kept elements are scaled by 1/(1-p).
    @Test func dropoutMasks() {
        let x = randomTensor([64, 32], rng), dy = randomTensor([64, 32], rng)
        for layer in [Dropout(0.3, rng: Random(seed: 5)), DropPath(0.3, rng: Random(seed: 5))] as [Layer] {
            let y = layer.forward(x), dx = layer.backward(dy)
            var dropped = 0
            for i in 0..<x.count {
                let m = y[i] / x[i]
                #expect(abs(m) < 1e-6 || abs(m - 1 / 0.7) < 1e-4)
                #expect(abs(dx[i] - dy[i] * m) < 1e-4)
                if abs(m) < 1e-6 { dropped += 1 }
            }
            let rate = Float(dropped) / Float(x.count)
            #expect(rate > 0.2 && rate < 0.4)
            layer.setTraining(false)
            expectClose(layer.forward(x), x, "\(type(of: layer)) in eval mode")
        }
    }
}
