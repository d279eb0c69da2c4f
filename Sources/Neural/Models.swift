import Foundation

/// Model families. Every builder takes the one `Random` that decides initial weights and dropout masks.
public enum Models {
    /// The benchmark's tiny CNN: four conv3x3-stride-2 + BN + ReLU stages, global pooling (average by default), linear.
    public static func tinyCNN(inChannels: Int = 1, widths: [Int] = [16, 32, 64, 128], classes: Int = 1,
                               pool: GlobalPool.Mode = .avg, rng: Random) -> Network {
        var stages: [Layer] = []
        for (cin, cout) in zip(widths.dropLast(), widths.dropFirst()) {
            stages.append(Blocks.convBN(cin, cout, kernel: 3, stride: 2, activation: .relu, rng: rng))
        }
        return Network(stem: Blocks.convBN(inChannels, widths[0], kernel: 3, stride: 2, activation: .relu, rng: rng),
                       stages: stages, pool: GlobalPool(pool),
                       classifier: Linear(pool == .catavgmax ? 2 * widths.last! : widths.last!, classes, rng: rng))
    }

    /// A ResNet shape: block kind, blocks per stage, base width.
    public struct ResNetConfig: Sendable {
        public var bottleneck: Bool
        public var blocks: [Int]
        public var width: Int
        public init(bottleneck: Bool, blocks: [Int], width: Int = 64) {
            self.bottleneck = bottleneck
            self.blocks = blocks
            self.width = width
        }
        public static let resnet18 = ResNetConfig(bottleneck: false, blocks: [2, 2, 2, 2])
        public static let resnet34 = ResNetConfig(bottleneck: false, blocks: [3, 4, 6, 3])
        public static let resnet50 = ResNetConfig(bottleneck: true, blocks: [3, 4, 6, 3])
    }

    /// torchvision's ResNet: 7x7/2 stem + 3x3/2 max pool, four stages doubling width and halving resolution.
    public static func resnet(_ config: ResNetConfig, inChannels: Int = 1, classes: Int = 1, pool: GlobalPool.Mode = .avg,
                              dropout: Float = 0, rng: Random) -> Network {
        let stem = Sequential([
            Conv2d(inChannels, config.width, kernel: 7, stride: 2, padding: 3, bias: false, rng: rng),
            BatchNorm(config.width, activation: .relu),
            MaxPool2d(kernel: 3, stride: 2, padding: 1),
        ])
        var cin = config.width
        var stages: [Layer] = []
        for (i, count) in config.blocks.enumerated() {
            let planes = config.width << i
            var blocks: [Layer] = []
            for b in 0..<count {
                let stride = b == 0 && i > 0 ? 2 : 1
                blocks.append(config.bottleneck ? Blocks.bottleneck(cin, planes, stride: stride, rng: rng)
                                                : Blocks.basicBlock(cin, planes, stride: stride, rng: rng))
                cin = config.bottleneck ? planes * 4 : planes
            }
            stages.append(Sequential(blocks))
        }
        let pooled = pool == .catavgmax ? 2 * cin : cin
        return Network(stem: stem, stages: stages, pool: GlobalPool(pool),
                       dropout: dropout > 0 ? Dropout(dropout, rng: rng.fork()) : nil,
                       classifier: Linear(pooled, classes, rng: rng))
    }

    /// One EfficientNetV2 stage: block kind, repeats, kernel, stride, expansion, output channels, SE ratio.
    public struct EfficientNetStage: Sendable {
        public var fused: Bool, repeats: Int, kernel: Int, stride: Int, expand: Int, channels: Int, seRatio: Float
    }

    /// An EfficientNetV2 member: the B-series base architecture scaled by width and depth.
    public struct EfficientNetV2Config: Sendable {
        public var width: Float
        public var depth: Float
        public var headChannels: Int
        public init(width: Float, depth: Float, headChannels: Int) {
            self.width = width
            self.depth = depth
            self.headChannels = headChannels
        }
        /// Sized for CPU training on 1/4-scale mammograms (about 0.6 M parameters).
        public static let cpu = EfficientNetV2Config(width: 0.5, depth: 0.34, headChannels: 512)
        public static let b0 = EfficientNetV2Config(width: 1.0, depth: 1.0, headChannels: 1280)
        public static let b1 = EfficientNetV2Config(width: 1.0, depth: 1.1, headChannels: 1280)
        public static let b2 = EfficientNetV2Config(width: 1.1, depth: 1.2, headChannels: 1408)
        public static let b3 = EfficientNetV2Config(width: 1.2, depth: 1.4, headChannels: 1536)

        /// timm's efficientnetv2 B base: cn_r1_k3_s1_e1_c16, er_r2_k3_s2_e4_c32, er_r2_k3_s2_e4_c48,
        /// ir_r3_k3_s2_e4_c96_se0.25, ir_r5_k3_s1_e6_c112_se0.25, ir_r8_k3_s2_e6_c192_se0.25.
        static let base: [EfficientNetStage] = [
            .init(fused: true, repeats: 1, kernel: 3, stride: 1, expand: 1, channels: 16, seRatio: 0),
            .init(fused: true, repeats: 2, kernel: 3, stride: 2, expand: 4, channels: 32, seRatio: 0),
            .init(fused: true, repeats: 2, kernel: 3, stride: 2, expand: 4, channels: 48, seRatio: 0),
            .init(fused: false, repeats: 3, kernel: 3, stride: 2, expand: 4, channels: 96, seRatio: 0.25),
            .init(fused: false, repeats: 5, kernel: 3, stride: 1, expand: 6, channels: 112, seRatio: 0.25),
            .init(fused: false, repeats: 8, kernel: 3, stride: 2, expand: 6, channels: 192, seRatio: 0.25),
        ]

        /// Channels scaled by width, rounded to a multiple of 8 and never below 90% of the target (timm's rule).
        func channels(_ c: Int) -> Int {
            let scaled = Float(c) * width
            var r = max(8, Int(scaled + 4) / 8 * 8)
            if Float(r) < 0.9 * scaled { r += 8 }
            return r
        }

        func repeats(_ r: Int) -> Int { Int((Float(r) * depth).rounded(.up)) }
    }

    public static func efficientNetV2(_ config: EfficientNetV2Config, inChannels: Int = 1, classes: Int = 1,
                                      pool: GlobalPool.Mode = .avg, dropout: Float = 0, dropPath: Float = 0,
                                      rng: Random) -> Network {
        let stemChannels = config.channels(32)
        let stem = Blocks.convBN(inChannels, stemChannels, kernel: 3, stride: 2, activation: .silu, rng: rng)
        let total = EfficientNetV2Config.base.reduce(0) { $0 + config.repeats($1.repeats) }
        var index = 0
        var cin = stemChannels
        var stages: [Layer] = []
        for spec in EfficientNetV2Config.base {
            let cout = config.channels(spec.channels)
            var blocks: [Layer] = []
            for r in 0..<config.repeats(spec.repeats) {
                let stride = r == 0 ? spec.stride : 1
                let rate = dropPath * Float(index) / Float(total)
                blocks.append(spec.fused
                    ? Blocks.fusedMBConv(cin, cout, expand: spec.expand, kernel: spec.kernel, stride: stride,
                                         seRatio: spec.seRatio, dropPath: rate, rng: rng)
                    : Blocks.mbConv(cin, cout, expand: spec.expand, kernel: spec.kernel, stride: stride,
                                    seRatio: spec.seRatio, dropPath: rate, rng: rng))
                cin = cout
                index += 1
            }
            stages.append(Sequential(blocks))
        }
        let head = Blocks.convBN(cin, config.headChannels, kernel: 1, activation: .silu, rng: rng)
        let pooled = pool == .catavgmax ? 2 * config.headChannels : config.headChannels
        return Network(stem: stem, stages: stages, headConv: head, pool: GlobalPool(pool),
                       dropout: dropout > 0 ? Dropout(dropout, rng: rng.fork()) : nil,
                       classifier: Linear(pooled, classes, rng: rng))
    }
}
