import ArgumentParser
import Foundation
import Validation

/// `mammoflow score`: the score stage's work on CSV files, outside a pipeline.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score out-of-fold predictions: pF1 per breast, AUC, honest and optimistic F1, bootstrap intervals, plots.",
        discussion: """
            PREDICTIONS is a CSV with one row per image: `image` ("<patient_id>/<image_id>") or `patient_id` and \
            `image_id`; `prediction` (a probability, clipped to 0..1 for pF1 as the competition did); and \
            optionally `fold` (else taken from --folds). Writes metrics.json, ROC, PR and calibration plots \
            beside it, and appends the headline to metrics.history.jsonl there (see `mammoflow metrics --diff`).
            """)

    @Option(help: "Predictions CSV (see below).")
    var predictions: String
    @Option(help: "The cohort table with the labels (RSNA train.csv layout).")
    var table: String
    @Option(help: "A folds.csv (from `mammoflow folds`), when the predictions carry no fold column.")
    var folds: String?
    @Option(help: "Bootstrap replicates (patients resampled with replacement).")
    var bootstrap = 1000
    @Option(help: "Seed of the bootstrap.")
    var seed: UInt64 = 0
    @Option(name: [.short, .customLong("output")], help: "Where to write metrics.json.")
    var output: String
    @Flag(help: "Score predictions that cover only some of the table's images (otherwise an error).")
    var allowPartial = false
    @Option(help: .hidden)
    var timeAuc: Int?

    func run() throws {
        let predictionTable = try CSVTable(contentsOf: predictions)
        let cohort = try CSVTable(contentsOf: table)
        if let repeats = timeAuc {
            try timeAUC(predictionTable, cohort, repeats: repeats)
            return
        }
        let run = try ScoreRun(predictions: predictionTable, table: cohort, folds: folds.map(CSVTable.init(contentsOf:)),
                               replicates: bootstrap, seed: seed, allowPartial: allowPartial)
        for reject in run.rejects { FileHandle.standardError.write(Data("\(predictions) line \(reject.line): \(reject.key): \(reject.reason)\n".utf8)) }
        for row in run.tableRejects { FileHandle.standardError.write(Data("\(row.key): \(row.reason)\n".utf8)) }
        try run.write(metricsPath: output)
        try ScoreFiles.appendHistory(of: output, headline: Headline.values(of: run.report))
        print(run.summary)
        print("wrote \(output)")
    }

    /// For bench/bench_validation.py: the best time of image-level ROC AUC (rank, curve, area), in-process,
    /// excluding file reading, as scikit-learn's roc_auc_score is timed.
    func timeAUC(_ predictionTable: CSVTable, _ cohort: CSVTable, repeats: Int) throws {
        let images = try ScoringInput.join(predictions: predictionTable, table: cohort).images
        let labels = images.map(\.label), scores = images.map(\.prediction)
        var best = Double.infinity, auc: Double?
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            auc = rocAUC(RankedScores(scores: scores, labels: labels).curve())
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print("{\"seconds\": \(best), \"roc_auc\": \(auc.map { "\($0)" } ?? "null"), \"n\": \(labels.count)}")
    }
}
