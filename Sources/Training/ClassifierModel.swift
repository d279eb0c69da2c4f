import Foundation
import Neural

/// The classifier the train stage fits: a backbone whose linear classifier has `layout.outputs` logits
/// (cancer first), plus, for self-distillation, one head per tapped stage (bottleneck, pooling, dropout,
/// linear: one cancer logit each). Parameter paths: "network.*", "taps.<stage>.*".
public final class ClassifierModel: Layer {
    public let network: Network
    public let tapHeads: [(stage: Int, head: Sequential)]
    /// Each tapped head's logits (N, 1) from the last forward, in `tapHeads` order.
    public private(set) var tapLogits: [Tensor] = []

    public init(recipe: TrainRecipe, layout: ModelLayout) throws {
        let rng = Random(seed: UInt64(bitPattern: Int64(recipe.seed)))
        let classes = layout.outputs, dropout = Float(recipe.dropout)
        guard let pool = GlobalPool.Mode(rawValue: recipe.pool) else {
            throw TrainingError(subject: "recipe", reason: "pool '\(recipe.pool)': expected avg, max or catavgmax")
        }
        let network: Network
        switch recipe.backbone {
        case .tiny: network = Models.tinyCNN(classes: classes, pool: pool, rng: rng)
        case .resnet18: network = Models.resnet(.resnet18, classes: classes, pool: pool, dropout: dropout, rng: rng)
        case .resnet34: network = Models.resnet(.resnet34, classes: classes, pool: pool, dropout: dropout, rng: rng)
        case .efficientnetv2Cpu, .efficientnetv2B0:
            network = Models.efficientNetV2(recipe.backbone == .efficientnetv2Cpu ? .cpu : .b0, classes: classes, pool: pool,
                                            dropout: dropout, dropPath: Float(recipe.dropPath), rng: rng)
        }
        let stages = network.stages.count
        let taps = recipe.model == .selfdistill && recipe.taps.isEmpty ? [stages - 3, stages - 2] : recipe.taps
        guard taps.allSatisfy({ network.stages.indices.contains($0) }) else {
            throw TrainingError(subject: "recipe", reason: "taps \(taps): \(recipe.backbone.rawValue) has stages 0...\(stages - 1)")
        }
        // Channels at each tap, from a probe forward in evaluation mode (no statistics change, no random draws).
        network.taps = Set(taps)
        network.withInference { _ = network.forward(Tensor([1, 64, 64, 1])) }
        tapHeads = taps.map { stage in
            let channels = network.features[stage]!.shape[3]
            let planes = max(8, channels / 4)
            var layers: [Layer] = [Blocks.bottleneck(channels, planes, stride: 1, rng: rng), GlobalPool(.avg)]
            if dropout > 0 { layers.append(Dropout(dropout, rng: rng.fork())) }
            layers.append(Linear(planes * 4, 1, rng: rng))
            return (stage, Sequential(layers))
        }
        self.network = network
        super.init()
    }

    public override var children: [(String, Layer)] {
        [("network", network)] + tapHeads.map { ("taps.\($0.stage)", $0.head) }
    }

    // x: (N, H, W, 1) -> logits: (N, outputs); tapLogits: (N, 1) each
    public override func forward(_ x: Tensor) -> Tensor {
        let logits = network.forward(x)
        // The tapped heads only serve a backward: inference (prediction, validation) reads the cancer logit alone.
        tapLogits = retainsActivations ? tapHeads.map { $0.head.forward(network.features[$0.stage]!) } : []
        return logits
    }

    public override func backward(_ dy: Tensor) -> Tensor { backward(dy, tapGradients: []) }

    /// Backward from the logits' gradient and, for self-distillation, each tapped head's logit gradient.
    public func backward(_ dy: Tensor, tapGradients: [Tensor]) -> Tensor {
        var features: [Int: Tensor] = [:]
        for (i, tap) in tapHeads.enumerated() where i < tapGradients.count {
            features[tap.stage] = tap.head.backward(tapGradients[i])
        }
        return network.backward(dy, tapGradients: features)
    }
}
