import Foundation
import Neural
import Shards

/// A rung of the study's model ladder.
public enum ModelKind: String, Codable, CaseIterable, Sendable {
    /// One cancer head.
    case baseline
    /// Cancer plus auxiliary heads from the table's columns (laterality, biopsy, implant, view).
    case multitask
    /// Cancer plus two heads on feature maps tapped at two depths, trained together (self-distillation).
    case selfdistill
}

/// Backbones that train on a CPU at mammogram input sizes; none is pretrained (no weights can be fetched).
public enum Backbone: String, Codable, CaseIterable, Sendable {
    case tiny, resnet18, resnet34
    case efficientnetv2Cpu = "efficientnetv2-cpu"
    case efficientnetv2B0 = "efficientnetv2-b0"
}

/// An auxiliary head of the multitask rung: a binary column of the table (BCE with logits), or the view
/// (cross-entropy over the view names seen in training).
public enum AuxiliaryHead: String, Codable, CaseIterable, Sendable {
    case laterality, biopsy, implant, invasive, view
}

public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case lookaheadRAdam = "lookahead-radam"
    case adam, adamw, sgd
}

public enum ScheduleKind: String, Codable, CaseIterable, Sendable {
    case cosine, onecycle, constant
}

public enum SamplerKind: String, Codable, CaseIterable, Sendable {
    /// Every image once per epoch, shuffled.
    case shuffle
    /// An epoch of the same length drawn with replacement so that `positiveFraction` of it is cancer.
    case balanced
}

/// What a trained model is and how it was trained: every choice of the train stage, with the study's
/// recipe for each rung as the defaults. Saved in each checkpoint, so that predict rebuilds the model from
/// the checkpoint alone.
public struct TrainRecipe: Codable, Equatable, Sendable {
    public var model: ModelKind
    public var backbone: Backbone
    /// Model input, rows x columns (the image is resized into it keeping its aspect ratio).
    public var height: Int
    public var width: Int
    /// Normalisation of the 0...1 input: (x - mean) / std.
    public var mean: Double
    public var std: Double
    public var epochs: Int
    public var batch: Int
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var weightDecay: Double
    public var schedule: ScheduleKind
    /// Augmentation preset (none, baseline, heavy) and per-transform probability overrides.
    public var augment: String
    public var augmentOverrides: [String: Double]
    public var sampler: SamplerKind
    public var positiveFraction: Double
    /// BCE weight of the positive class for the cancer head (RSNA: about 2% cancer).
    public var posWeight: Double
    /// Global pooling of the last feature map: avg, max, or catavgmax (both, concatenated). A lesion covers a
    /// few cells of the last map: averaging dilutes it by the map's area, the maximum does not.
    public var pool: String
    public var dropout: Double
    public var dropPath: Double
    /// Weight-EMA decay (0: off). Validation, the best checkpoint and prediction use the averaged weights.
    public var ema: Double
    /// Multitask: the auxiliary heads and their share of the loss (loss = (1 - w) cancer + w mean(aux)).
    public var heads: [AuxiliaryHead]
    public var auxWeight: Double
    /// Selfdistill: the backbone stages whose output feeds a tapped head (two depths); empty: the third- and
    /// second-to-last stages of the backbone.
    public var taps: [Int]
    /// The metric that picks the best epoch: auc (image), pf1 (breast, mean of images), or loss.
    public var select: String
    public var seed: Int

    /// JSON keys are the train stage's param names.
    enum CodingKeys: String, CodingKey {
        case model, backbone, height, width, mean, std, epochs, batch, optimizer, schedule, augment, sampler, pool
        case dropout, ema, heads, taps, select, seed
        case learningRate = "lr", weightDecay = "weight_decay", augmentOverrides = "augment_p"
        case positiveFraction = "positive_fraction", posWeight = "pos_weight", dropPath = "drop_path"
        case auxWeight = "aux_weight"
    }

    /// The study's recipe for a rung.
    public static func defaults(for model: ModelKind) -> TrainRecipe {
        var r = TrainRecipe(model: model, backbone: .efficientnetv2Cpu, height: 512, width: 320, mean: 0.5, std: 0.25,
                            epochs: 12, batch: 8,
                            optimizer: .lookaheadRAdam, learningRate: 4e-4, weightDecay: 1e-8, schedule: .cosine,
                            augment: "baseline", augmentOverrides: [:], sampler: .balanced, positiveFraction: 0.25,
                            posWeight: 1, pool: "avg", dropout: 0.2, dropPath: 0, ema: 0, heads: [], auxWeight: 0, taps: [],
                            select: "auc", seed: 0)
        switch model {
        case .baseline: break
        case .multitask:
            r.heads = [.laterality, .biopsy, .implant, .view]
            r.auxWeight = 0.2
            r.schedule = .onecycle
        case .selfdistill:
            r.optimizer = .adam
            r.learningRate = 1e-4
            r.weightDecay = 1e-6
            r.schedule = .onecycle
            r.augment = "heavy"
        }
        return r
    }
}

/// What a recipe's model looks like to the data: its outputs (columns of the logits) and the view names
/// of a view head. Fixed at training time and saved with the recipe.
public struct ModelLayout: Codable, Equatable, Sendable {
    /// View classes, sorted (empty without a view head).
    public var views: [String]
    public var heads: [AuxiliaryHead]

    public init(heads: [AuxiliaryHead], views: [String]) {
        self.heads = heads
        self.views = heads.contains(.view) ? views : []
    }

    /// Logit columns: cancer, one per binary head, then one per view class.
    public var outputs: Int { 1 + heads.filter { $0 != .view }.count + views.count }
    public var binaryHeads: [AuxiliaryHead] { heads.filter { $0 != .view } }
}

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

/// Why training or prediction cannot go on: names the thing (a file, a param, the recipe) and the reason.
public struct TrainingError: SubjectReasonError {
    public let subject: String
    public let reason: String
    public init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }
}
