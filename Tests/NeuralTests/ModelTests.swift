import Foundation
import Testing
@testable import Neural

@Suite struct ModelTests {
    @Test func familiesBuildAndRun() {
        let x = randomTensor([2, 32, 32, 1], Random(seed: 1))
        let nets: [(String, Network)] = [
            ("tiny", Models.tinyCNN(rng: Random(seed: 1))),
            ("resnet18-narrow", Models.resnet(.init(bottleneck: false, blocks: [2, 2, 2, 2], width: 8), rng: Random(seed: 1))),
            ("resnet-bottleneck", Models.resnet(.init(bottleneck: true, blocks: [1, 1, 1, 1], width: 8), classes: 3,
                                                pool: .catavgmax, dropout: 0.2, rng: Random(seed: 1))),
            ("effnetv2-cpu", Models.efficientNetV2(.cpu, dropout: 0.2, dropPath: 0.1, rng: Random(seed: 1))),
        ]
        for (name, net) in nets {
            let y = net.forward(x)
            #expect(y.shape == [2, net.classifier.outFeatures], "\(name)")
            _ = net.backward(Tensor(y.shape, values: .init(repeating: 1, count: y.count)))
            #expect(net.parameters.allSatisfy { $0.1.grad.array.allSatisfy(\.isFinite) }, "\(name) gradients finite")
        }
    }

    @Test func tapsExposeFeaturesAndTakeGradients() {
        let rng = Random(seed: 2)
        let net = Models.efficientNetV2(.cpu, rng: rng)
        net.taps = [2, 4]
        let x = randomTensor([2, 64, 64, 1], rng)
        let y = net.forward(x)
        #expect(net.features.keys.sorted() == [2, 4])
        #expect(net.features[2]!.shape[1] == 8 && net.features[4]!.shape[1] == 4)
        // A gradient arriving only at a tap reaches the stem but not the classifier.
        let tapGrad = Tensor(net.features[2]!.shape, values: .init(repeating: 1, count: net.features[2]!.count))
        _ = net.backward(Tensor(y.shape), tapGradients: [2: tapGrad])
        #expect(net.classifier.weight.grad.array.allSatisfy { $0 == 0 })
        #expect(net.parameters.first { $0.0 == "stem.0.weight" }!.1.grad.array.contains { $0 != 0 })
    }

    /// One seed fixes the whole run: bit-identical weights after training steps, whatever the thread count.
    @Test func sameSeedSameRun() {
        func run(_ threads: Int, steps: Int) -> [(String, Parameter)] {
            withThreads(threads) { train(steps) }
        }
        func train(_ steps: Int) -> [(String, Parameter)] {
            let rng = Random(seed: 42)
            let net = Models.efficientNetV2(.cpu, dropout: 0.2, dropPath: 0.2, rng: rng)
            let opt = Adam.adamW(net.parameters)
            let x = randomTensor([4, 32, 32, 1], rng)
            for _ in 0..<steps {
                opt.zeroGrad()
                _ = net.backward(BCEWithLogits()(net.forward(x), [0, 1, 1, 0]).grad)
                opt.step()
            }
            return net.parameters
        }
        let single = run(1, steps: 2)
        expectIdentical(run(1, steps: 2), single, "two runs")
        expectIdentical(run(2, steps: 2), single, "2 threads vs 1")
    }

    /// Checkpoints store tensors under their paths: listing parameterless layers (pooling, dropout) as
    /// children must not change them. Tests/Fixtures/neural/checkpoint-paths.txt holds the keys as saved
    /// before that change.
    @Test func checkpointPathsAreStable() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/neural/checkpoint-paths.txt").standardized
        var expected: [String: [String]] = [:], section = ""
        for line in try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("##") {
            if line.hasPrefix("# ") { section = String(line.dropFirst(2)) } else { expected[section, default: []].append(String(line)) }
        }
        let models: [(String, Network)] = [
            ("tinyCNN", Models.tinyCNN(rng: Random(seed: 1))),
            ("resnet18 dropout 0.2", Models.resnet(.resnet18, dropout: 0.2, rng: Random(seed: 1))),
            ("resnet bottleneck [1, 1, 1, 1]", Models.resnet(.init(bottleneck: true, blocks: [1, 1, 1, 1]), rng: Random(seed: 1))),
            ("efficientNetV2 cpu dropout 0.3 dropPath 0.2",
             Models.efficientNetV2(.cpu, dropout: 0.3, dropPath: 0.2, rng: Random(seed: 1))),
        ]
        #expect(Set(models.map(\.0)) == Set(expected.keys))
        for (name, net) in models {
            let keys = net.parameters.map { "param/\($0.0)" } + net.buffers.map { "buffer/\($0.0)" }
            #expect(keys == expected[name], "\(name)")
        }
    }

    @Test func checkpointRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("neural-ckpt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rng = Random(seed: 9)
        let net = Models.tinyCNN(rng: rng)
        let opt = Lookahead(Adam.adamW(net.parameters), k: 2)
        let x = randomTensor([2, 32, 32, 1], rng)
        func trainStep(_ net: Network, _ opt: Optimizer) {
            withThreads(1) {
                opt.zeroGrad()
                _ = net.backward(BCEWithLogits()(net.forward(x), [1, 0]).grad)
                opt.step()
            }
        }
        trainStep(net, opt)
        let info = try Checkpoint.save(model: net, optimizer: opt, to: dir)
        trainStep(net, opt)

        let restored = Models.tinyCNN(rng: Random(seed: 100))
        let restoredOpt = Lookahead(Adam.adamW(restored.parameters), k: 2)
        try Checkpoint.load(from: "\(dir)/\(info.name)", into: restored, optimizer: restoredOpt)
        #expect(restoredOpt.stepCount == 1 && restoredOpt.inner.stepCount == 1)
        trainStep(restored, restoredOpt)
        expectIdentical(restored.parameters, net.parameters, "restored run")

        let other = Models.tinyCNN(widths: [8, 16, 32, 64], rng: Random(seed: 1))
        #expect(throws: CheckpointError.self) { try Checkpoint.load(from: "\(dir)/\(info.name)", into: other) }
    }

    @Test func gradientClippingAndEMA() {
        let p = Parameter(Tensor([2], values: [0, 0]))
        p.grad[0] = 3; p.grad[1] = 4
        #expect(clipGradientNorm([("p", p)], maxNorm: 1) == 5)
        #expect(abs(p.grad[0] - 0.6) < 1e-5 && abs(p.grad[1] - 0.8) < 1e-5)
        let net = Models.tinyCNN(rng: Random(seed: 1))
        let ema = WeightEMA(of: net, decay: 0.5)
        let w = net.parameters[0].1.value
        let before = w[0]
        w[0] = before + 1
        ema.update()  // effective decay min(0.5, 2/11)
        let copy = Models.tinyCNN(rng: Random(seed: 2))
        ema.copy(into: copy)
        #expect(abs(copy.parameters[0].1.value[0] - (before + 9.0 / 11)) < 1e-5)
    }
}
