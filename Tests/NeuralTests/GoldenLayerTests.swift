import Testing
@testable import Neural

/// Forward and backward of each layer against PyTorch (Tests/Fixtures/neural/make_golden.py).
@Suite struct GoldenLayerTests {
    let g = Golden.shared

    /// Runs the layer on the case's x and dy; compares y, dx and the listed parameter gradients.
    func check(_ layer: Layer, _ testCase: String, params: [(String, Parameter)] = [],
               sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, p) in params { assign(p.value, g.tensor(testCase, name)); p.grad.zero() }
        let y = layer.forward(g.tensor(testCase, "x"))
        expectClose(y, g.tensor(testCase, "y"), "\(testCase) y", sourceLocation: sourceLocation)
        let dx = layer.backward(g.tensor(testCase, "dy"))
        expectClose(dx, g.tensor(testCase, "dx"), "\(testCase) dx", sourceLocation: sourceLocation)
        for (name, p) in params {
            expectClose(p.grad, g.tensor(testCase, "d" + name), "\(testCase) d\(name)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [
        ("conv_3x3_s2", 3, 4, (3, 3), (2, 2), (1, 1), (1, 1), 1, true),
        ("conv_grouped_dilated", 4, 6, (3, 3), (1, 1), (2, 2), (2, 2), 2, false),
        ("conv_1x1", 6, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, true),
        ("conv_asymmetric", 2, 3, (3, 5), (2, 1), (1, 2), (1, 1), 1, true),
        ("conv_depthwise_s2", 8, 8, (3, 3), (2, 2), (1, 1), (1, 1), 8, true),
        ("conv_depthwise_k5", 12, 12, (5, 5), (1, 1), (2, 2), (1, 1), 12, false),
    ] as [(String, Int, Int, (Int, Int), (Int, Int), (Int, Int), (Int, Int), Int, Bool)])
    func conv2d(_ c: (String, Int, Int, (Int, Int), (Int, Int), (Int, Int), (Int, Int), Int, Bool)) {
        for threads in [1, 2] {
            withThreads(threads) {
                let conv = Conv2d(c.1, c.2, kernel: c.3, stride: c.4, padding: c.5, dilation: c.6, groups: c.7,
                                  bias: c.8, rng: Random(seed: 1))
                check(conv, c.0, params: conv.localParameters)
            }
        }
    }

    @Test(arguments: [("batchnorm_train", Activation.identity, true), ("batchnorm_eval", .identity, false),
                      ("batchnorm_relu_train", .relu, true), ("batchnorm_silu_train", .silu, true)])
    func batchNorm(_ testCase: String, _ activation: Activation, _ training: Bool) {
        let bn = BatchNorm(6, activation: activation)
        bn.setTraining(training)
        assign(bn.runningMean, g.tensor(testCase, "running_mean_before"))
        assign(bn.runningVar, g.tensor(testCase, "running_var_before"))
        check(bn, testCase, params: [("gamma", bn.gamma), ("beta", bn.beta)])
        expectClose(bn.runningMean, g.tensor(testCase, "running_mean"), "\(testCase) running mean")
        expectClose(bn.runningVar, g.tensor(testCase, "running_var"), "\(testCase) running var")
    }

    @Test(arguments: [Activation.relu, .silu, .mish, .sigmoid])
    func activation(_ kind: Activation) {
        check(ActivationLayer(kind), "act_\(kind.rawValue)")
    }

    @Test func pooling() {
        check(MaxPool2d(kernel: 3, stride: 2, padding: 1), "maxpool_k3_s2_p1")
        check(AvgPool2d(kernel: 3, stride: 2, padding: 1), "avgpool_k3_s2_p1")
        check(AvgPool2d(kernel: 2, stride: 2, padding: 1, countIncludePad: false), "avgpool_k2_p1_exclude_pad")
        check(GlobalPool(.avg), "global_avg")
        check(GlobalPool(.max), "global_max")
        check(GlobalPool(.catavgmax), "global_catavgmax")
    }

    @Test func linear() {
        let fc = Linear(5, 4, rng: Random(seed: 1))
        check(fc, "linear", params: fc.localParameters)
    }

    @Test func squeezeExcite() {
        let se = SqueezeExcite(channels: 8, reduced: 2, activation: .silu, rng: Random(seed: 1))
        check(se, "squeeze_excite", params: [
            ("reduce_weight", se.reduce.weight), ("reduce_bias", se.reduce.bias!),
            ("expand_weight", se.expand.weight), ("expand_bias", se.expand.bias!),
        ])
    }
}
