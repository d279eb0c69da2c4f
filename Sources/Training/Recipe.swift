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

/// Why training or prediction cannot go on: names the thing (a file, a param, the recipe) and the reason.
public struct TrainingError: SubjectReasonError {
    public let subject: String
    public let reason: String
    public init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }
}
