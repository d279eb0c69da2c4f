import Foundation
import Imaging
import Neural
import Shards
import Validation

/// One epoch's numbers, as logged and plotted.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double
    /// Image-level ROC AUC and per-breast (mean of images) probabilistic F1 on the held-out fold.
    public var auc: Double?
    public var pf1Breast: Double
    public var learningRate: Double

    enum CodingKeys: String, CodingKey {
        case epoch, auc
        case trainLoss = "train_loss", validationLoss = "validation_loss", pf1Breast = "pf1_breast", learningRate = "learning_rate"
    }
}

/// Where a training run reports: progress units, log lines, and one JSON line per step and epoch.
public struct TrainingReporter {
    public var progress: (_ done: Int, _ total: Int) -> Void
    public var log: (String) -> Void
    public init(progress: @escaping (Int, Int) -> Void, log: @escaping (String) -> Void) {
        self.progress = progress
        self.log = log
    }
}

/// The training loop of the train stage: epochs of shuffled or balanced batches through the recipe's
/// model, optimizer and schedule; validation on the held-out images after each epoch; the best and the last
/// checkpoint, a JSON-lines log and a picture of the curves. Everything written depends only on the
/// inputs, the recipe and the seed, never on timing or the thread count.
public final class Trainer {
    public let recipe: TrainRecipe
    public let layout: ModelLayout
    public let model: ClassifierModel
    let evaluationModel: ClassifierModel?
    let optimizer: Optimizer
    let schedule: LearningRateSchedule
    let ema: WeightEMA?
    let objective: Objective
    let train: BatchLoader
    let validation: BatchLoader
    public private(set) var history: [EpochRecord] = []

    public init(recipe: TrainRecipe, layout: ModelLayout, train: BatchLoader, validation: BatchLoader) throws {
        self.recipe = recipe
        self.layout = layout
        self.train = train
        self.validation = validation
        model = try ClassifierModel(recipe: recipe, layout: layout)
        evaluationModel = recipe.ema > 0 ? try ClassifierModel(recipe: recipe, layout: layout) : nil
        ema = recipe.ema > 0 ? WeightEMA(of: model, decay: Float(recipe.ema)) : nil
        objective = Objective(recipe: recipe, layout: layout)
        let parameters = model.parameters, lr = Float(recipe.learningRate), wd = Float(recipe.weightDecay)
        switch recipe.optimizer {
        case .lookaheadRAdam: optimizer = Lookahead(RAdam(parameters, learningRate: lr, weightDecay: wd))
        case .adam: optimizer = Adam(parameters, learningRate: lr, weightDecay: wd)
        case .adamw: optimizer = Adam.adamW(parameters, learningRate: lr, weightDecay: wd)
        case .sgd: optimizer = SGD(parameters, learningRate: lr, momentum: 0.9, nesterov: true, weightDecay: wd)
        }
        let steps = recipe.epochs * Self.batchCount(train.images.count, recipe.batch)
        switch recipe.schedule {
        case .cosine: schedule = CosineAnnealing(base: lr, totalSteps: steps)
        case .onecycle: schedule = OneCycle(maximum: lr, totalSteps: steps)
        case .constant: schedule = CosineAnnealing(base: lr, totalSteps: steps, minimum: lr)
        }
    }

    static func batchCount(_ images: Int, _ batch: Int) -> Int { (images + batch - 1) / batch }

    /// The config saved in checkpoints: recipe, layout and which weights predict should use.
    public func checkpointConfig(epoch: Int) throws -> JSONValue {
        .object([
            "recipe": try JSONValue(encoding: recipe),
            "layout": try JSONValue(encoding: layout),
            "weights": .string(ema == nil ? "trained" : "averaged"),
            "epoch": .int(Int64(epoch)),
        ])
    }

    /// Trains for the recipe's epochs, writing into `directory`: best.mgs, last.mgs, log.jsonl, curves.png.
    public func run(into directory: String, reporter: TrainingReporter) throws {
        let trainBatches = Self.batchCount(train.images.count, recipe.batch)
        let validationBatches = Self.batchCount(validation.images.count, recipe.batch)
        let total = recipe.epochs * (trainBatches + validationBatches)
        var done = 0
        var log: [UInt8] = []
        var best: Double?
        let started = Date()
        let labels = train.images.map { $0.cancer ?? 0 }
        for epoch in 0..<recipe.epochs {
            let epochStart = Date(), waitedBefore = train.waitSeconds
            model.setTraining(true)
            let order = epochOrder(labels: labels, sampler: recipe.sampler, positiveFraction: recipe.positiveFraction,
                                   seed: recipe.seed, epoch: epoch)
            let batches = train.batches(order: order, batchSize: recipe.batch, epoch: epoch)
            defer { batches.cancel() }
            var lossSum = 0.0, seen = 0
            while let batch = try batches.next() {
                let step = optimizer.stepCount
                optimizer.learningRate = schedule.learningRate(at: step)
                optimizer.zeroGrad()
                let logits = model.forward(batch.x)
                let (loss, dLogits, dTaps) = objective(logits: logits, taps: model.tapLogits, targets: batch.targets)
                _ = model.backward(dLogits, tapGradients: dTaps)
                optimizer.step()
                ema?.update()
                guard loss.total.isFinite else {
                    throw TrainingError(subject: "epoch \(epoch + 1) step \(step + 1)", reason: "the loss is \(loss.total); lower lr (now \(optimizer.learningRate))")
                }
                lossSum += Double(loss.total) * Double(batch.indices.count)
                seen += batch.indices.count
                var line: [String: JSONValue] = ["step": .int(Int64(step + 1)), "epoch": .int(Int64(epoch + 1)),
                                                 "loss": .double(Double(loss.total)), "lr": .double(Double(optimizer.learningRate))]
                for (name, value) in loss.terms where loss.terms.count > 1 { line["loss_\(name)"] = .double(Double(value)) }
                log += JSONValue.object(line).canonicalBytes + [0x0A]
                done += 1
                reporter.progress(done, total)
            }
            let evaluated = evaluationModel ?? model
            if let ema, let evaluationModel { ema.copy(into: evaluationModel) }
            let (validationLoss, predictions) = try predict(evaluated, validation) { done += 1; reporter.progress(done, total) }
            let record = EpochRecord(epoch: epoch + 1, trainLoss: lossSum / Double(max(seen, 1)),
                                     validationLoss: validationLoss, auc: predictions.auc,
                                     pf1Breast: predictions.pf1Breast, learningRate: Double(optimizer.learningRate))
            history.append(record)
            log += try JSONValue(encoding: record).canonicalBytes + [0x0A]
            let score = selectionScore(record)
            let improved = best.map { score > $0 } ?? true
            if improved {
                best = score
                try saveCheckpoint(named: "best.mgs", in: directory, epoch: epoch + 1)
            }
            let elapsed = Date().timeIntervalSince(started)
            let remaining = elapsed / Double(epoch + 1) * Double(recipe.epochs - epoch - 1)
            reporter.log(String(format: "epoch %d/%d  loss %.4f  val loss %.4f  AUC %@  pF1 %.3f%@  %.0f s (loader wait %.1f s)  ETA %@",
                                epoch + 1, recipe.epochs, record.trainLoss, record.validationLoss,
                                record.auc.map { String(format: "%.3f", $0) } ?? "-", record.pf1Breast,
                                improved ? "  best" : "", Date().timeIntervalSince(epochStart),
                                train.waitSeconds - waitedBefore, formatDuration(remaining)))
        }
        try saveCheckpoint(named: "last.mgs", in: directory, epoch: recipe.epochs)
        try writeFileAtomically("\(directory)/log.jsonl", log)
        try PNG.write(TrainingCurves.render(history, title: "\(recipe.model.rawValue) \(recipe.backbone.rawValue)"),
                      to: "\(directory)/curves.png")
    }

    /// The epoch whose checkpoint is best.mgs: the first with the highest selection score.
    public var bestEpoch: EpochRecord? {
        history.reduce(nil) { best, record in best.map { selectionScore(record) > selectionScore($0) ? record : $0 } ?? record }
    }

    /// Higher is better: the chosen metric (the loss negated).
    func selectionScore(_ record: EpochRecord) -> Double {
        switch recipe.select {
        case "pf1": return record.pf1Breast
        case "loss": return -record.validationLoss
        default: return record.auc ?? 0
        }
    }

    func saveCheckpoint(named name: String, in directory: String, epoch: Int) throws {
        let scratch = "\(directory)/.checkpoint"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let info = try Checkpoint.save(model: model, optimizer: optimizer, ema: ema, config: checkpointConfig(epoch: epoch), to: scratch)
        let target = "\(directory)/\(name)"
        if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
        try FileManager.default.moveItem(atPath: "\(scratch)/\(info.name)", toPath: target)
        try FileManager.default.removeItem(atPath: scratch)
    }

    /// The held-out images' cancer probabilities with the cancer BCE and the scores the selection uses.
    func predict(_ model: ClassifierModel, _ loader: BatchLoader, afterBatch: () -> Void)
        throws -> (loss: Double, predictions: HeldOutScores) {
        let logits = try cancerLogits(model, outputs: layout.outputs, loader, batchSize: recipe.batch, afterBatch: afterBatch)
        let labels = loader.images.map { Float($0.cancer ?? 0) }
        let loss = BCEWithLogits()(Tensor([logits.count], values: logits), labels).loss
        return (Double(loss), HeldOutScores(images: loader.images, probabilities: logits.map(sigmoid)))
    }
}

/// A held-out fold's image-level AUC and per-breast pF1 (the competition's metric), as the score stage computes them.
struct HeldOutScores {
    let auc: Double?
    let pf1Breast: Double

    init(images: [LabeledImage], probabilities: [Double]) {
        let scored = zip(images, probabilities).map { image, p in
            ScoredImage(patient: image.patient, image: image.image, laterality: image.laterality,
                        label: image.cancer ?? 0, prediction: p, fold: image.fold)
        }
        let report = scorePredictions(scored, replicates: 0)
        auc = report.levels["image"]?.rocAUC
        pf1Breast = report.levels["breast_mean"]?.probabilisticF1 ?? 0
    }
}

/// "1h02m", "4m10s", "12s".
func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}

/// The picture of a run: losses (left axis scale) and held-out AUC and pF1 per epoch.
enum TrainingCurves {
    static func render(_ history: [EpochRecord], title: String) -> RGBImage {
        let epochs = Double(max(history.count, 1))
        let maxLoss = max(history.map { max($0.trainLoss, $0.validationLoss) }.max() ?? 1, 1e-3)
        var chart = Chart(title: "\(title): loss / \(String(format: "%.2f", maxLoss)), held-out AUC and pF1",
                          xLabel: "epoch", yLabel: "value")
        chart.xRange = 0...epochs
        func series(_ name: String, _ color: RGB, _ value: (EpochRecord) -> Double?, dashed: Bool = false) -> Chart.Series {
            Chart.Series(name: name, color: color, points: history.compactMap { r in value(r).map { (Double(r.epoch), $0) } },
                         dashed: dashed, markers: true)
        }
        chart.series = [
            series("train loss (scaled)", RGB(120, 120, 120), { $0.trainLoss / maxLoss }, dashed: true),
            series("held-out loss (scaled)", RGB(40, 40, 40), { $0.validationLoss / maxLoss }, dashed: true),
            series("held-out AUC", RGB(50, 100, 230), { $0.auc }),
            series("held-out pF1 (breast)", RGB(230, 90, 30), { $0.pf1Breast }),
        ]
        return chart.render()
    }
}
