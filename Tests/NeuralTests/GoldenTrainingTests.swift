import Testing
@testable import Neural

/// Losses, optimizers, schedules and whole training steps against PyTorch.
@Suite struct GoldenTrainingTests {
    let g = Golden.shared

    @Test func bceWithLogits() {
        let (loss, grad) = BCEWithLogits(posWeight: 3, labelSmoothing: 0.1)(g.tensor("bce", "logits"),
                                                                         g.tensor("bce", "targets").array)
        #expect(abs(loss - g.tensor("bce", "loss")[0]) < 1e-5)
        expectClose(grad, g.tensor("bce", "grad"), "bce grad")
    }

    @Test func crossEntropy() {
        let targets = g.tensor("cross_entropy", "targets").array.map { Int($0) }
        let (loss, grad) = CrossEntropy(labelSmoothing: 0.1)(g.tensor("cross_entropy", "logits"), targets)
        #expect(abs(loss - g.tensor("cross_entropy", "loss")[0]) < 1e-5)
        expectClose(grad, g.tensor("cross_entropy", "grad"), "cross-entropy grad")
    }

    @Test(arguments: ["adamw", "adam", "sgd_nesterov", "radam"])
    func optimizer(_ name: String) {
        let w = Parameter(g.tensor(name, "w0")), b = Parameter(g.tensor(name, "b0"), decays: false)
        let params = [("w", w), ("b", b)]
        let opt: Optimizer
        var steps = 3
        switch name {
        case "adamw": opt = Adam.adamW(params, learningRate: 1e-2, weightDecay: 0.1)
        case "adam": opt = Adam(params, learningRate: 1e-2, weightDecay: 0.1)
        case "sgd_nesterov": opt = SGD(params, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
        default: opt = RAdam(params, learningRate: 1e-2, weightDecay: 0.01); steps = 8
        }
        for step in 0..<steps {
            assign(w.grad, g.tensor(name, "gw\(step)"))
            assign(b.grad, g.tensor(name, "gb\(step)"))
            opt.step()
        }
        expectClose(w.value, g.tensor(name, "w"), atol: 1e-5, "\(name) w")
        expectClose(b.value, g.tensor(name, "b"), atol: 1e-5, "\(name) b")
    }

    @Test func schedules() {
        let cosine = CosineAnnealing(base: 0.1, totalSteps: 10, minimum: 0.001)
        let cosineLR = g.tensor("cosine", "lr")
        for t in 0..<10 { #expect(abs(cosine.learningRate(at: t) - cosineLR[t]) < 1e-6, "cosine step \(t)") }
        let oneCycle = OneCycle(maximum: 0.1, totalSteps: 20)
        let oneCycleLR = g.tensor("onecycle", "lr")
        for t in 0..<20 { #expect(abs(oneCycle.learningRate(at: t) - oneCycleLR[t]) < 1e-6, "one-cycle step \(t)") }
        let warm = Warmup(CosineAnnealing(base: 1, totalSteps: 100), steps: 10, startFactor: 0.1)
        #expect(abs(warm.learningRate(at: 0) - 0.1) < 1e-6)
        #expect(warm.learningRate(at: 5) < warm.learningRate(at: 9))
        #expect(warm.learningRate(at: 10) == CosineAnnealing(base: 1, totalSteps: 100).learningRate(at: 10))
    }

    /// The make_golden.py network, built from the library's blocks.
    static func smallNetwork(rng: Random) -> Network {
        Network(stem: Blocks.convBN(1, 8, kernel: 3, stride: 2, activation: .relu, rng: rng),
                stages: [Blocks.fusedMBConv(8, 8, expand: 4, kernel: 3, stride: 1, rng: rng),
                         Blocks.mbConv(8, 16, expand: 2, kernel: 3, stride: 2, seRatio: 0.25, rng: rng)],
                headConv: Blocks.convBN(16, 32, kernel: 1, activation: .silu, rng: rng),
                pool: GlobalPool(.avg), classifier: Linear(32, 1, rng: rng))
    }

    @Test(arguments: [1, 2])
    func wholeTrainingStep(threads: Int) {
        withThreads(threads) { trainTwoSteps() }
    }

    func trainTwoSteps() {
        let net = Self.smallNetwork(rng: Random(seed: 3))
        let names = Set(g.names("train_step").filter { $0.hasPrefix("init/") }.map { String($0.dropFirst(5)) })
        #expect(Set(net.parameters.map(\.0)) == names)
        for (name, p) in net.parameters { assign(p.value, g.tensor("train_step", "init/" + name)) }
        let opt = Adam.adamW(net.parameters, learningRate: 1e-2, weightDecay: 0.05)
        let x = g.tensor("train_step", "x"), targets = g.tensor("train_step", "targets").array
        let bce = BCEWithLogits(posWeight: 2)
        for step in 0..<2 {
            opt.zeroGrad()
            let logits = net.forward(x)
            expectClose(logits, g.tensor("train_step", "logits\(step)"), atol: 2e-4, rtol: 1e-3, "logits step \(step)")
            let (loss, dlogits) = bce(logits, targets)
            #expect(abs(loss - g.tensor("train_step", "loss\(step)")[0]) < 1e-4, "loss step \(step)")
            _ = net.backward(dlogits)
            if step == 0 {
                for (name, p) in net.parameters {
                    expectClose(p.grad, g.tensor("train_step", "grad/" + name), atol: 1e-4, rtol: 2e-3, "grad \(name)")
                }
            }
            opt.step()
        }
        // A batch-norm shift feeding (through a 1x1 convolution) into another batch norm has an exactly zero
        // gradient: both sides hold rounding noise there, which Adam scales to full-size steps. Compare the
        // parameters whose reference gradient is not zero; the next layer's running mean inherits the noise.
        for (name, p) in net.parameters {
            let grad = g.tensor("train_step", "grad/" + name), expected = g.tensor("train_step", "final/" + name)
            for i in 0..<p.value.count where abs(grad[i]) > 1e-6 {
                #expect(abs(p.value[i] - expected[i]) <= 1e-4 + 1e-3 * abs(expected[i]), "final \(name)[\(i)]")
            }
        }
        for (name, t) in net.buffers {
            let layer = String(name.dropLast(name.hasSuffix("running_mean") ? 13 : 12))
            let kind = name.hasSuffix("running_mean") ? "running_mean" : "running_var"
            expectClose(t, g.tensor("train_step", "\(kind)/\(layer).weight"), atol: 3e-3, rtol: 1e-3, name)
        }
    }
}
