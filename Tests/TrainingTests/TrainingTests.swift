import Foundation
import Neural
import Shards
import Stages
import Testing
@testable import Training
import Validation

@Suite struct JoinTests {
    @Test func eachMismatchIsReportedOnceWithItsReason() throws {
        let cohort = try ToyCohort(patients: 3)
        let records = cohort.images.map(\.record)
        // Table: the first four images, an image with no record, and one an upstream stage already rejected.
        var rows = Array(cohort.table.rows.prefix(4))
        rows.append(["9", "90", "L", "CC", "0", "0", "0"])
        rows.append(["9", "91", "R", "CC", "0", "0", "0"])
        let table = CSVTable(header: cohort.table.header, rows: rows, file: "train.csv")
        let (images, rejects) = try joinImages(records: records, table: table, folds: nil, upstreamRejects: ["9/91"],
                                               binaryColumns: ["cancer"])
        #expect(images.map(\.key) == records.prefix(4).map(\.key).sorted())
        #expect(rejects.map(\.key).sorted() == (records.dropFirst(4).map(\.key) + ["9/90"]).sorted())
        #expect(rejects.first { $0.key == "9/90" }?.reason == "train.csv line 6 has no image record")
        #expect(rejects.contains { $0.reason == "image record has no row in train.csv" })
    }

    @Test func anImageAnUpstreamStageRejectedIsNeitherJoinedNorRejectedAgain() throws {
        // The folds stage rejects a row with a bad label; the image stages, which hold no labels, still
        // have its image: train and predict leave it out without a second reject.
        let cohort = try ToyCohort(patients: 2)
        let records = cohort.images.map(\.record)
        let dropped = records[1].key
        let table = cohort.table.filter { "\(cohort.table.rows[$0][0])/\(cohort.table.rows[$0][1])" != dropped }
        let (images, rejects) = try joinImages(records: records, table: table, folds: nil, upstreamRejects: [dropped],
                                               binaryColumns: ["cancer"])
        #expect(images.map(\.key) == records.map(\.key).filter { $0 != dropped })
        #expect(rejects.isEmpty, "\(rejects)")
    }

    @Test func aLabelThatIsNotBinaryRefusesTheTable() throws {
        let cohort = try ToyCohort(patients: 1)
        var rows = cohort.table.rows
        rows[1][4] = "maybe"
        let table = CSVTable(header: cohort.table.header, rows: rows, file: "train.csv")
        #expect(throws: CSVError.self) {
            try joinImages(records: cohort.images.map(\.record), table: table, folds: nil, upstreamRejects: [], binaryColumns: ["cancer"])
        }
    }
}

@Suite struct SamplerTests {
    @Test func balancedEpochsDrawThePositiveFractionAndRepeat() {
        let labels = (0..<1000).map { $0 % 50 == 0 ? 1 : 0 }  // 2% positive, as RSNA
        let order = epochOrder(labels: labels, sampler: .balanced, positiveFraction: 0.25, seed: 3, epoch: 1)
        let fraction = Double(order.filter { labels[$0] == 1 }.count) / Double(order.count)
        #expect(order.count == labels.count)
        #expect(abs(fraction - 0.25) < 0.05, "positive fraction \(fraction)")
        #expect(order == epochOrder(labels: labels, sampler: .balanced, positiveFraction: 0.25, seed: 3, epoch: 1))
        #expect(order != epochOrder(labels: labels, sampler: .balanced, positiveFraction: 0.25, seed: 3, epoch: 2))
        let shuffled = epochOrder(labels: labels, sampler: .shuffle, positiveFraction: 0.25, seed: 3, epoch: 1)
        #expect(shuffled.sorted() == Array(labels.indices))
    }
}

@Suite struct ObjectiveTests {
    /// dLoss/dlogit of every output column and tap against central differences of the loss (in float64).
    @Test(arguments: [ModelKind.baseline, .multitask, .selfdistill])
    func gradientsMatchFiniteDifferences(_ kind: ModelKind) {
        var recipe = TrainRecipe.defaults(for: kind)
        recipe.posWeight = 3
        let layout = ModelLayout(heads: recipe.heads, views: ["CC", "MLO", "ML"])
        let objective = Objective(recipe: recipe, layout: layout)
        let rng = Random(seed: 11)
        let n = 4
        let logits = Tensor([n, layout.outputs], values: (0..<(n * layout.outputs)).map { _ in rng.normal() * 2 })
        let taps = (0..<(kind == .selfdistill ? 2 : 0)).map { _ in Tensor([n, 1], values: (0..<n).map { _ in rng.normal() }) }
        let targets = BatchTargets(cancer: [1, 0, 0, 1], binary: layout.binaryHeads.map { _ in [0, 1, 1, 0] }, views: [2, 0, 1, 0])
        let (_, dLogits, dTaps) = objective(logits: logits, taps: taps, targets: targets)
        func loss() -> Double { Double(objective(logits: logits, taps: taps, targets: targets).loss.total) }
        for (value, analytic) in [(logits, dLogits)] + zip(taps, dTaps).map({ ($0, $1) }) {
            for i in 0..<value.count {
                let saved = value[i], eps: Float = 1e-2
                value[i] = saved + eps
                let plus = loss()
                value[i] = saved - eps
                let minus = loss()
                value[i] = saved
                let numeric = Float((plus - minus) / Double(2 * eps))
                #expect(abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * abs(numeric), "\(kind) element \(i): \(analytic[i]) vs \(numeric)")
            }
        }
    }

    @Test func multitaskWeighsCancerAgainstTheMeanOfTheAuxiliaryLosses() {
        let recipe = TrainRecipe.defaults(for: .multitask)
        let layout = ModelLayout(heads: recipe.heads, views: ["CC", "MLO"])
        let logits = Tensor([1, layout.outputs], values: [0.3, -1, 2, 0.5, 1, -1])
        let (loss, _, _) = Objective(recipe: recipe, layout: layout)(
            logits: logits, taps: [], targets: BatchTargets(cancer: [1], binary: [[1], [0], [1]], views: [1]))
        let terms = Dictionary(uniqueKeysWithValues: loss.terms)
        let aux = (terms["laterality"]! + terms["biopsy"]! + terms["implant"]! + terms["view"]!) / 4
        #expect(abs(loss.total - (0.8 * terms["cancer"]! + 0.2 * aux)) < 1e-6)
    }
}

@Suite struct ClassifierModelTests {
    /// Finite differences of the whole self-distillation model (backbone, taps and their heads) on sampled weights.
    @Test func selfdistillBackwardReachesTheTappedHeadsAndTheBackbone() throws {
        let recipe = toyRecipe(.selfdistill)
        let layout = ModelLayout(heads: [], views: [])
        let model = try ClassifierModel(recipe: recipe, layout: layout)
        let objective = Objective(recipe: recipe, layout: layout)
        let rng = Random(seed: 5)
        let x = Tensor([4, 40, 32, 1], values: (0..<(4 * 40 * 32)).map { _ in rng.normal() })
        let targets = BatchTargets(cancer: [1, 0, 1, 0], binary: [], views: [])
        // Evaluation mode: batch norm uses its running statistics, so each weight's effect is smooth and local.
        model.setTraining(false)
        func loss() -> Double {
            Double(objective(logits: model.forward(x), taps: model.tapLogits, targets: targets).loss.total)
        }
        model.parameters.forEach { $0.1.grad.zero() }
        let (_, dLogits, dTaps) = objective(logits: model.forward(x), taps: model.tapLogits, targets: targets)
        _ = model.backward(dLogits, tapGradients: dTaps)
        let checked = model.parameters.filter { $0.0.hasSuffix("weight") && !$0.0.contains("bn") }
        #expect(checked.contains { $0.0.hasPrefix("taps.1.") } && checked.contains { $0.0.hasPrefix("network.stem") })
        var compared = 0
        for (name, p) in checked {
            for _ in 0..<3 {
                let i = rng.int(p.value.count), saved = p.value[i], eps: Float = 1e-2
                p.value[i] = saved + eps
                let plus = loss()
                p.value[i] = saved - eps
                let minus = loss()
                p.value[i] = saved + 0
                let center = loss()
                // A ReLU switching inside the step leaves no derivative to compare.
                guard abs((plus - center) - (center - minus)) < 1e-4 * max(1, abs(plus - center)) + 1e-6 else { continue }
                let numeric = Float((plus - minus) / Double(2 * eps))
                #expect(abs(numeric - p.grad[i]) <= 2e-3 + 5e-2 * abs(numeric), "\(name)[\(i)]: \(p.grad[i]) vs \(numeric)")
                compared += 1
            }
        }
        #expect(compared > checked.count)
    }

    @Test func aCheckpointAloneRebuildsTheModelAndACorruptOneIsRefused() throws {
        let directory = TemporaryDirectory()
        var recipe = toyRecipe(.multitask)
        recipe.ema = 0.9
        let layout = ModelLayout(heads: recipe.heads, views: ["CC", "MLO"])
        let model = try ClassifierModel(recipe: recipe, layout: layout)
        let ema = WeightEMA(of: model, decay: 0.9)
        // Move the live weights away from the average so that the two differ.
        for (_, p) in model.parameters { for i in 0..<p.value.count { p.value[i] += 0.01 } }
        let config: JSONValue = ["recipe": try JSONValue(encoding: recipe), "layout": try JSONValue(encoding: layout), "weights": "averaged"]
        let info = try Checkpoint.save(model: model, ema: ema, config: config, to: directory.path)
        let path = "\(directory.path)/\(info.name)"
        let rebuilt = try TrainedModel(checkpoint: path)
        #expect(rebuilt.recipe == recipe && rebuilt.layout == layout)
        let expected = try ClassifierModel(recipe: recipe, layout: layout)
        ema.copy(into: expected)
        let x = Tensor([2, 40, 32, 1], values: (0..<(2 * 40 * 32)).map { Float($0 % 17) / 17 })
        #expect(rebuilt.model.withInference { rebuilt.model.forward(x).array } == expected.withInference { expected.forward(x).array })

        var bytes = try readFile(path)
        bytes[bytes.count / 3] ^= 0x40
        try writeFileAtomically(path, bytes)
        #expect(throws: (any Error).self) { try TrainedModel(checkpoint: path) }
    }
}

@Suite struct TrainerTests {
    func train(_ recipe: TrainRecipe, _ cohort: ToyCohort, into directory: String) throws -> Trainer {
        let layout = ModelLayout(heads: recipe.heads, views: Set(cohort.images.map(\.view)).sorted())
        let trainer = try Trainer(recipe: recipe, layout: layout,
                                  train: try cohort.loader(cohort.images.filter { $0.fold != 0 }, recipe, layout: layout, training: true),
                                  validation: try cohort.loader(cohort.images.filter { $0.fold == 0 }, recipe, layout: layout, training: false))
        try trainer.run(into: directory, reporter: quietReporter)
        return trainer
    }

    @Test func aModelLearnsTheToySignal() throws {
        let cohort = try ToyCohort(patients: 60)
        let directory = TemporaryDirectory()
        let trainer = try train(toyRecipe(.baseline, epochs: 8), cohort, into: directory.path)
        let best = trainer.history.compactMap(\.auc).max() ?? 0
        #expect(best > 0.9, "held-out AUC by epoch: \(trainer.history.map { $0.auc ?? -1 })")
        for file in ["best.mgs", "last.mgs", "log.jsonl", "curves.png"] {
            #expect(FileManager.default.fileExists(atPath: "\(directory.path)/\(file)"), "\(file) written")
        }
        let log = try String(contentsOfFile: "\(directory.path)/log.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(log.count == 8 * 8 + 8)  // 60 training images in batches of 8: 8 steps an epoch, one line each, plus the epoch lines
    }

    @Test(arguments: [ModelKind.multitask, .selfdistill])
    func everyRungTrains(_ kind: ModelKind) throws {
        let cohort = try ToyCohort(patients: 12)
        let directory = TemporaryDirectory()
        var recipe = toyRecipe(kind, epochs: 2)
        recipe.augment = TrainRecipe.defaults(for: kind).augment  // multitask: baseline, selfdistill: heavy
        let trainer = try train(recipe, cohort, into: directory.path)
        #expect(trainer.history.count == 2 && trainer.history.allSatisfy { $0.trainLoss.isFinite && $0.validationLoss.isFinite })
        let rebuilt = try TrainedModel(checkpoint: "\(directory.path)/best.mgs")
        #expect(rebuilt.recipe.model == kind)
    }

    /// The same cache key gives the same bytes: with 1 and with 2 threads (reductions run in a fixed order).
    @Test func theSameSeedGivesTheSameCheckpointBytesWhateverTheThreads() throws {
        let cohort = try ToyCohort(patients: 12)
        let a = TemporaryDirectory(), b = TemporaryDirectory()
        var recipe = toyRecipe(.selfdistill, epochs: 2)
        recipe.augment = "heavy"
        recipe.ema = 0.9
        defer { Threads.configure(1) }
        Threads.configure(1)
        _ = try train(recipe, cohort, into: a.path)
        Threads.configure(2)
        _ = try train(recipe, cohort, into: b.path)
        for file in ["best.mgs", "last.mgs", "log.jsonl"] {
            #expect(try readFile("\(a.path)/\(file)") == readFile("\(b.path)/\(file)"), "\(file) identical")
        }
    }
}
