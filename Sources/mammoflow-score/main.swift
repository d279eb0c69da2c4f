// The score stage: out-of-fold predictions against the cohort's labels.
// params: { bootstrap: 1000, seed: 0 }
// inputs: artifacts listing predictions.csv, or the slices' predictions.<i>-of-<n>.csv, read as one table
// (format: Validation's ScoringInput), train.csv (synth or
// ingest) and optionally folds.csv (when the predictions carry no fold column), whatever the stages' names.
// output: metrics.json and ROC, PR and calibration plots; prediction rows that cannot be scored are rejects.
import Shards
import Stages
import Validation

/// predictions.csv, or a sliced predict stage's predictions.<i>-of-<n>.csv files joined in slice order.
func predictionTable(_ context: StageContext) throws -> CSVTable {
    let files = context.job.inputs.keys.sorted().flatMap { name in
        context.job.inputs[name]!.files.filter { $0.path == "predictions.csv" || ($0.path.hasPrefix("predictions.") && $0.path.hasSuffix(".csv") && $0.path.contains("-of-")) }
    }
    guard !files.isEmpty else {
        throw StageError(stage: context.stage, reason: "no input lists predictions.csv; inputs: \(context.job.inputs.keys.sorted().joined(separator: ", "))")
    }
    let tables = try files.sorted { $0.path < $1.path }
        .map { try CSVTable(contentsOf: context.location(of: $0)) }
    guard tables.count > 1 else { return tables[0] }
    guard tables.allSatisfy({ $0.header == tables[0].header }) else {
        throw StageError(stage: context.stage, reason: "the prediction slices have different columns: \(tables.map(\.file))")
    }
    return CSVTable(header: tables[0].header, rows: tables.flatMap(\.rows), file: tables.map(\.file).joined(separator: " + "))
}

runStage("score") { context in
    let replicates = try context.params.int("bootstrap", default: 1000)
    let seed = UInt64(bitPattern: Int64(try context.params.int("seed", default: 0)))
    func table(_ name: String) throws -> CSVTable {
        try CSVTable(contentsOf: context.location(of: tableFile(named: name, in: context)))
    }
    let folds = try optionalTableFile(named: "folds.csv", in: context).map { try CSVTable(contentsOf: context.location(of: $0)) }
    let predictions = try predictionTable(context)
    let run = try ScoreRun(predictions: predictions, table: table("train.csv"), folds: folds, replicates: replicates, seed: seed)
    for reject in run.rejects { context.reject(key: reject.key, file: "predictions.csv line \(reject.line)", reason: reject.reason) }
    try run.write(metricsPath: "\(context.outputDirectory)/metrics.json")
    context.log(run.summary)
    let headline = try Headline.values(of: run.report)
    try context.finish(records: run.images.count, summary: .object(headline.mapValues { $0.map(JSONValue.double) ?? .null }))
}
