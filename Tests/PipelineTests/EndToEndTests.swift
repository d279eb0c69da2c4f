import Foundation
import Pipeline
import Shards
import StageTesting
import Testing

/// The whole chain with the real stage executables, on a cohort small enough for a test: synthetic DICOM
/// files to a score computed from the predictions of models the train stage fitted.
@Suite(.serialized) struct EndToEndTests {
    static let pipeline = """
        stages:
          synth:     { run: mammoflow-synth, params: { patients: 10, seed: 3, scale: 0.08, prevalence: 0.5, difficulty: 0 } }
          decode:    { run: mammoflow-decode, deps: [synth], params: { reduce: 0 } }
          downscale: { run: mammoflow-downscale, deps: [decode], params: { factor: 2 } }
          crop:      { run: mammoflow-crop, deps: [downscale] }
          pectoral:  { run: mammoflow-pectoral, deps: [crop] }
          folds:     { run: mammoflow-folds, deps: [synth], params: { k: 2, seed: 1 } }
          train:     { run: mammoflow-train, deps: [pectoral, folds, synth], foreach: { fold: [0, 1] },
                       params: { backbone: tiny, height: 48, width: 32, epochs: 2, batch: 8, augment: heavy } }
          predict:   { run: mammoflow-predict, deps: [train, pectoral, folds, synth] }
          score:     { run: mammoflow-score, deps: [predict, synth, folds], params: { bootstrap: 50 } }
        """

    /// A scratch folder with `pipeline` as chain.yaml, run by the built `mammoflow` into its own cache.
    struct Chain {
        let root: String
        let mammoflow: String
        init(_ name: String = "end-to-end", pipeline: String = EndToEndTests.pipeline) throws {
            let products = try #require(builtProductsDirectory(), "build the package first: the mammoflow binary was not found")
            mammoflow = "\(products)/mammoflow"
            root = try scratch(name)
            try write("\(root)/chain.yaml", pipeline)
        }
        func run(_ arguments: [String]) throws -> ProcessOutput {
            try runProcess(mammoflow, arguments + ["--cache", "\(root)/cache"], cwd: root)
        }
        /// The newest committed artifact of a stage (its files located in the store).
        func artifact(_ stage: String) throws -> [RunRecord] {
            let store = Store(root: "\(root)/cache")
            return store.allRunKeys().compactMap(store.readRun).filter { $0.stage == stage }
        }
        func file(_ record: RunRecord, _ path: String) throws -> String {
            let file = try #require(record.manifest.file(path), "\(record.stage) has no \(path)")
            return String(decoding: try readFile(Store(root: "\(root)/cache").objectPath(file.sha256)), as: UTF8.self)
        }
    }

    @Test func dicomFilesToAScoreFromTheTrainedModelsThenAllFresh() throws {
        let chain = try Chain()
        let first = try chain.run(["run", "chain.yaml", "-j", "2"])
        try #require(first.status == 0, "run failed:\n\(first.output.suffix(3000))")

        // Two fold models, each validated on its held-out fold.
        let trains = try chain.artifact("train")
        #expect(trains.count == 2)
        for record in trains {
            #expect(record.manifest.file("best.mgs") != nil && record.manifest.file("log.jsonl") != nil)
        }
        // Predictions: every image once, out of fold, from those models (predict's key includes the train artifact).
        let predict = try #require(try chain.artifact("predict").first)
        #expect(predict.parts.inputs["train"] != nil)
        let rows = try chain.file(predict, "predictions.csv").split(whereSeparator: \.isNewline).dropFirst()
        let table = try chain.file(try #require(try chain.artifact("synth").first), "train.csv").split(whereSeparator: \.isNewline).dropFirst()
        let rejected = Set(predict.manifest.rejects.map(\.key))
        #expect(rows.count + rejected.count == table.count)
        #expect(Set(rows.map { $0.split(separator: ",")[4] }) == ["0", "1"])
        // The score is of exactly those predictions.
        let score = try #require(try chain.artifact("score").first)
        #expect(score.parts.inputs["predict"] == predict.manifest.contentID)
        let metrics = try JSONValue.parse(chain.file(score, "metrics.json"))
        #expect(metrics["images"]?.intValue == rows.count)
        #expect(metrics["levels"]?["breast_mean"]?["probabilistic_f1"]?.doubleValue != nil)

        let second = try chain.run(["run", "chain.yaml"])
        #expect(second.status == 0)
        #expect(second.output.contains("ran 0, fresh 9, failed 0"), "second run: \(second.output.suffix(500))")

        // Another training seed: new models, new predictions, a new score; preprocessing is reused.
        let reseeded = try chain.run(["run", "chain.yaml", "--set", "train.seed=5"])
        #expect(reseeded.output.contains("ran 3, fresh 6, failed 0"), "\(reseeded.output.suffix(500))")
        let predictions = try chain.artifact("predict")
        #expect(predictions.count == 2)
        #expect(Set(try predictions.map { try chain.file($0, "predictions.csv") }).count == 2)
    }
}
