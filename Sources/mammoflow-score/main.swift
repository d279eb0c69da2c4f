// The score stage: out-of-fold predictions against the cohort's labels.
// params: declared below (`mammoflow params score`).
// inputs: artifacts listing predictions.csv, or the slices' predictions.<i>-of-<n>.csv, read as one table
// (format: Validation's ScoringInput), train.csv (synth or
// ingest) and optionally folds.csv (when the predictions carry no fold column), whatever the stages' names.
// output: metrics.json and ROC, PR and calibration plots; prediction rows that cannot be scored, and table
// rows with a bad label cell that no earlier stage rejected, are rejects.
import Shards
import Stages
import Validation

let params = [
    ParamSpec("bootstrap", .int, default: 1000, minimum: 0, help: "bootstrap replicates for the confidence intervals"),
    ParamSpec("seed", .int, default: 0, help: "bootstrap seed"),
    ParamSpec("allow_partial", .bool, default: false, help: "score predictions that cover only some of the table's images"),
]

/// An input table, checked against its listed SHA-256.
func read(_ file: ArtifactFile, _ context: StageContext) throws -> CSVTable {
    try CSVTable(parsing: context.verifiedContents(of: file), file: context.location(of: file))
}

/// predictions.csv, or a sliced predict stage's predictions.<i>-of-<n>.csv files joined in slice order.
func predictionTable(_ context: StageContext) throws -> CSVTable {
    let files = context.job.inputs.keys.sorted().flatMap { name in
        context.job.inputs[name]!.files.filter { $0.path == "predictions.csv" || ($0.path.hasPrefix("predictions.") && $0.path.hasSuffix(".csv") && $0.path.contains("-of-")) }
    }
    guard !files.isEmpty else {
        throw StageError(stage: context.stage, reason: "no input lists predictions.csv; inputs: \(context.job.inputs.keys.sorted().joined(separator: ", "))")
    }
    let tables = try files.sorted { $0.path < $1.path }.map { try read($0, context) }
    guard tables.count > 1 else { return tables[0] }
    guard tables.allSatisfy({ $0.header == tables[0].header }) else {
        throw StageError(stage: context.stage, reason: "the prediction slices have different columns: \(tables.map(\.file))")
    }
    return CSVTable(header: tables[0].header, rows: tables.flatMap(\.rows), file: tables.map(\.file).joined(separator: " + "))
}

runStage("score", params: params) { context in
    let replicates = try context.params.int("bootstrap")
    let seed = UInt64(bitPattern: Int64(try context.params.int("seed")))
    let folds = try optionalTableFile(named: "folds.csv", in: context).map { try read($0, context) }
    let predictions = try predictionTable(context)
    let trainCSV = try tableFile(named: "train.csv", in: context)
    let table = try CSVTable(parsing: context.verifiedContents(of: trainCSV), file: trainCSV.source ?? trainCSV.path)
    let run = try ScoreRun(predictions: predictions, table: table, folds: folds,
                           replicates: replicates, seed: seed, allowPartial: try context.params.bool("allow_partial"),
                           rejectedUpstream: Set(context.job.inputs.values.flatMap { $0.rejects.map(\.key) }))
    for row in run.tableRejects { context.reject(key: row.key, file: table.file, reason: row.reason) }
    for reject in run.rejects { context.reject(key: reject.key, file: "predictions.csv line \(reject.line)", reason: reject.reason) }
    try run.write(metricsPath: "\(context.outputDirectory)/metrics.json")
    context.log(run.summary)
    let headline = try Headline.values(of: run.report)
    var summary = headline.mapValues { $0.map(JSONValue.double) ?? .null }
    summary["images_scored"] = .int(Int64(run.images.count))
    summary["images_in_table"] = .int(Int64(run.report.coverage?.imagesInTable ?? 0))
    summary["images_rejected"] = .int(Int64(run.report.coverage?.imagesRejected ?? 0))
    try context.finish(records: run.images.count, summary: .object(summary))
}
