import Neural
import Shards
import Stages

extension TrainRecipe {
    /// The train stage's params, by name, in the order `mammoflow-train --help` lists them.
    public static let parameterNames = [
        "model", "backbone", "height", "width", "mean", "std", "epochs", "batch", "optimizer", "lr", "weight_decay", "schedule",
        "augment", "augment_p", "sampler", "positive_fraction", "pos_weight", "pool", "dropout", "drop_path", "ema",
        "heads", "aux_weight", "taps", "select", "seed", "fold",
    ]

    /// The recipe a stage's params ask for: the rung's defaults (`model`), then each param given.
    public init(params p: StageParams) throws {
        let unknown = (p.values.objectValue ?? [:]).keys.filter { !Self.parameterNames.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw StageError(stage: p.stage, reason: "unknown params \(unknown.joined(separator: ", ")) (known: \(Self.parameterNames.joined(separator: ", ")))")
        }
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ fallback: T) throws -> T where T.RawValue == String {
            T(rawValue: try p.choice(name, T.allCases.map(\.rawValue), default: fallback.rawValue))!
        }
        func positive(_ name: String, _ fallback: Int) throws -> Int {
            let v = try p.int(name, default: fallback)
            guard v > 0 else { throw StageError(stage: p.stage, reason: "param '\(name)' must be at least 1, found \(v)") }
            return v
        }
        func fraction(_ name: String, _ fallback: Double, below limit: Double = 1) throws -> Double {
            let v = try p.double(name, default: fallback)
            guard v >= 0 && v < limit else { throw StageError(stage: p.stage, reason: "param '\(name)' must be in [0, \(limit)), found \(v)") }
            return v
        }
        var r = TrainRecipe.defaults(for: try choice("model", ModelKind.baseline))
        r.backbone = try choice("backbone", r.backbone)
        r.height = try positive("height", r.height)
        r.width = try positive("width", r.width)
        r.mean = try p.double("mean", default: r.mean)
        r.std = try p.double("std", default: r.std)
        r.epochs = try positive("epochs", r.epochs)
        r.batch = try positive("batch", r.batch)
        r.optimizer = try choice("optimizer", r.optimizer)
        r.learningRate = try p.double("lr", default: r.learningRate)
        r.weightDecay = try p.double("weight_decay", default: r.weightDecay)
        r.schedule = try choice("schedule", r.schedule)
        r.augment = try p.string("augment", default: r.augment)
        if let overrides = p.value("augment_p") {
            guard let object = overrides.objectValue else {
                throw StageError(stage: p.stage, reason: "param 'augment_p' must be a mapping of transform names to probabilities")
            }
            r.augmentOverrides = try object.mapValues { v in
                guard let d = v.doubleValue, (0...1).contains(d) else {
                    throw StageError(stage: p.stage, reason: "param 'augment_p': probabilities must be numbers in 0...1, found \(v.canonicalText)")
                }
                return d
            }
        }
        r.sampler = try choice("sampler", r.sampler)
        r.positiveFraction = try fraction("positive_fraction", r.positiveFraction)
        r.posWeight = try p.double("pos_weight", default: r.posWeight)
        r.pool = try p.choice("pool", ["avg", "max", "catavgmax"], default: r.pool)
        r.dropout = try fraction("dropout", r.dropout)
        r.dropPath = try fraction("drop_path", r.dropPath)
        r.ema = try fraction("ema", r.ema)
        r.heads = try p.strings("heads", default: r.heads.map(\.rawValue)).map { name in
            guard let head = AuxiliaryHead(rawValue: name) else {
                throw StageError(stage: p.stage, reason: "param 'heads': unknown head '\(name)' (known: \(AuxiliaryHead.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return head
        }
        r.auxWeight = try fraction("aux_weight", r.auxWeight, below: 1.000001)
        if let taps = p.value("taps") {
            guard let list = taps.arrayValue?.compactMap(\.intValue), list.count == taps.arrayValue?.count else {
                throw StageError(stage: p.stage, reason: "param 'taps' must be a list of stage numbers")
            }
            r.taps = list
        }
        r.select = try p.choice("select", ["auc", "pf1", "loss"], default: r.select)
        r.seed = try p.int("seed", default: r.seed)
        guard r.learningRate > 0, r.weightDecay >= 0, r.posWeight > 0 else {
            throw StageError(stage: p.stage, reason: "params: lr and pos_weight must be > 0, weight_decay >= 0")
        }
        guard r.model == .multitask || r.heads.isEmpty || p.value("heads") == nil else {
            throw StageError(stage: p.stage, reason: "param 'heads' applies to model multitask only")
        }
        guard r.model == .selfdistill || p.value("taps") == nil else {
            throw StageError(stage: p.stage, reason: "param 'taps' applies to model selfdistill only")
        }
        self = r
    }
}

extension TrainRecipe {
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
