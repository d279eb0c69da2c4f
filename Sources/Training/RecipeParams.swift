import Neural
import Shards
import Stages

extension TrainRecipe {
    /// The train stage's params. Those whose default depends on the rung (`model`) have none declared: left
    /// out, the rung's recipe decides (and they stay out of the cache key).
    public static let parameters: [ParamSpec] = {
        let fallback = TrainRecipe.defaults(for: .baseline)
        func perRung(_ describe: (TrainRecipe) -> String) -> String {
            ModelKind.allCases.map { "\($0.rawValue) \(describe(TrainRecipe.defaults(for: $0)))" }.joined(separator: ", ")
        }
        return [
            ParamSpec("fold", .int, minimum: 0, help: "the held-out fold (set by foreach: { fold: [...] })"),
            ParamSpec("model", .string, default: .string(fallback.model.rawValue), choices: ModelKind.allCases.map(\.rawValue),
                      help: "the rung of the ladder"),
            ParamSpec("backbone", .string, default: .string(fallback.backbone.rawValue), choices: Backbone.allCases.map(\.rawValue),
                      help: "the convolutional network under the heads"),
            ParamSpec("height", .int, default: .int(Int64(fallback.height)), minimum: 16, help: "model input rows"),
            ParamSpec("width", .int, default: .int(Int64(fallback.width)), minimum: 16, help: "model input columns"),
            ParamSpec("mean", .number, default: .double(fallback.mean), help: "input normalisation: (x - mean) / std of the 0...1 image"),
            ParamSpec("std", .number, default: .double(fallback.std), minimum: 1e-6, help: "input normalisation"),
            ParamSpec("epochs", .int, default: .int(Int64(fallback.epochs)), minimum: 1, help: "passes over the training images"),
            ParamSpec("batch", .int, default: .int(Int64(fallback.batch)), minimum: 1, help: "images per step"),
            ParamSpec("optimizer", .string, optional: true, choices: OptimizerKind.allCases.map(\.rawValue),
                      help: "default per model: \(perRung { $0.optimizer.rawValue })"),
            ParamSpec("lr", .number, optional: true, minimum: 1e-9, help: "peak learning rate; default per model: \(perRung { "\($0.learningRate)" })"),
            ParamSpec("weight_decay", .number, optional: true, minimum: 0, help: "default per model: \(perRung { "\($0.weightDecay)" })"),
            ParamSpec("schedule", .string, optional: true, choices: ScheduleKind.allCases.map(\.rawValue),
                      help: "learning rate per step; default per model: \(perRung { $0.schedule.rawValue })"),
            ParamSpec("augment", .string, optional: true, choices: AugmentationConfig.presets.map(\.0),
                      help: "augmentation preset; default per model: \(perRung { $0.augment })"),
        ] + AugmentationConfig.transformNames.map { name in
            ParamSpec("p_\(name)", .number, optional: true, minimum: 0, maximum: 1, help: "probability of \(name) (overrides the preset's)")
        } + [
            ParamSpec("sampler", .string, default: .string(fallback.sampler.rawValue), choices: SamplerKind.allCases.map(\.rawValue),
                      help: "balanced: each draw is a cancer with probability positive_fraction; shuffle: every image once"),
            ParamSpec("positive_fraction", .number, default: .double(fallback.positiveFraction), minimum: 0, maximum: 1,
                      help: "share of cancer images in a balanced epoch"),
            ParamSpec("pos_weight", .number, default: .double(fallback.posWeight), minimum: 1e-6, help: "weight of the positive term of the cancer BCE"),
            ParamSpec("pool", .string, default: .string(fallback.pool), choices: ["avg", "max", "catavgmax"],
                      help: "global pooling of the last feature map"),
            ParamSpec("dropout", .number, default: .double(fallback.dropout), minimum: 0, maximum: 0.99, help: "before the classifier"),
            ParamSpec("drop_path", .number, default: .double(fallback.dropPath), minimum: 0, maximum: 0.99, help: "stochastic depth (EfficientNet)"),
            ParamSpec("ema", .number, default: .double(fallback.ema), minimum: 0, maximum: 0.999999,
                      help: "weight EMA decay, 0 for none; validation and prediction then use the averaged weights"),
            ParamSpec("heads", .strings, optional: true, choices: AuxiliaryHead.allCases.map(\.rawValue),
                      help: "multitask: auxiliary heads; default \(TrainRecipe.defaults(for: .multitask).heads.map(\.rawValue).joined(separator: ", "))"),
            ParamSpec("aux_weight", .number, optional: true, minimum: 0, maximum: 1,
                      help: "multitask: loss = (1 - w) cancer + w mean(aux); default \(TrainRecipe.defaults(for: .multitask).auxWeight)"),
            ParamSpec("taps", .ints, optional: true, help: "selfdistill: backbone stages feeding a tapped head; default the third- and second-to-last"),
            ParamSpec("select", .string, default: .string(fallback.select), choices: ["auc", "pf1", "loss"],
                      help: "metric that picks the best epoch's checkpoint"),
            ParamSpec("seed", .int, default: .int(Int64(fallback.seed)), help: "weights, data order and augmentations"),
        ]
    }()

    /// The recipe a stage's params ask for (checked against `parameters` already): the rung's defaults, then
    /// each param given.
    public init(params p: StageParams) throws {
        func choice<T: RawRepresentable>(_ name: String, _ fallback: T) throws -> T where T.RawValue == String {
            try p.optional(name).flatMap { $0.stringValue.flatMap(T.init(rawValue:)) } ?? fallback
        }
        func number(_ name: String, _ fallback: Double) throws -> Double { try p.optional(name)?.doubleValue ?? fallback }
        var r = TrainRecipe.defaults(for: try choice("model", ModelKind.baseline))
        r.backbone = try choice("backbone", r.backbone)
        r.height = try p.int("height")
        r.width = try p.int("width")
        r.mean = try p.double("mean")
        r.std = try p.double("std")
        r.epochs = try p.int("epochs")
        r.batch = try p.int("batch")
        r.optimizer = try choice("optimizer", r.optimizer)
        r.learningRate = try number("lr", r.learningRate)
        r.weightDecay = try number("weight_decay", r.weightDecay)
        r.schedule = try choice("schedule", r.schedule)
        r.augment = try p.optional("augment")?.stringValue ?? r.augment
        for name in AugmentationConfig.transformNames {
            if let value = try p.optional("p_\(name)")?.doubleValue { r.augmentOverrides[name] = value }
        }
        r.sampler = try choice("sampler", r.sampler)
        r.positiveFraction = try p.double("positive_fraction")
        r.posWeight = try p.double("pos_weight")
        r.pool = try p.string("pool")
        r.dropout = try p.double("dropout")
        r.dropPath = try p.double("drop_path")
        r.ema = try p.double("ema")
        if let heads = try p.optional("heads") {
            guard r.model == .multitask else { throw StageError(stage: p.stage, reason: "param 'heads' applies to model multitask only") }
            r.heads = (heads.stringValue.map { [$0] } ?? heads.arrayValue?.compactMap(\.stringValue) ?? []).compactMap(AuxiliaryHead.init(rawValue:))
        }
        r.auxWeight = try number("aux_weight", r.auxWeight)
        if let taps = try p.optional("taps") {
            guard r.model == .selfdistill else { throw StageError(stage: p.stage, reason: "param 'taps' applies to model selfdistill only") }
            r.taps = taps.intValue.map { [$0] } ?? taps.arrayValue?.compactMap(\.intValue) ?? []
        }
        r.select = try p.string("select")
        r.seed = try p.int("seed")
        self = r
    }

    /// The recipe's model input: size and normalisation.
    public func modelInput() throws -> ModelInput {
        try ModelInput(height: height, width: width, mean: Float(mean), std: Float(std))
    }

    /// The recipe's augmentations: the preset with the per-transform probability overrides.
    public func augmentation() throws -> AugmentationConfig {
        try AugmentationConfig(preset: augment, probabilities: augmentOverrides)
    }

    /// The loader's two steps: for training with the recipe's augmentations, else (held-out, predict) without.
    public func loaderSteps(training: Bool) throws
        -> (prepare: @Sendable (ImagePayload, UnsafeMutablePointer<Float>) -> Void, augment: (@Sendable (UnsafeMutablePointer<Float>, Random) -> Void)?) {
        try modelInput().loaderSteps(augmentation: training ? augmentation() : nil)
    }
}
