// The score stage: out-of-fold predictions against the cohort's labels.
// params: declared below (`mammoflow params score`).
// inputs: artifacts listing predictions.csv (format: Validation's ScoringInput), train.csv (synth or
// ingest) and optionally folds.csv (when the predictions carry no fold column), whatever the stages' names.
// output: metrics.json and ROC, PR and calibration plots; prediction rows that cannot be scored are rejects.
import Shards
import Stages
import Validation

let params = [
    ParamSpec("bootstrap", .int, default: 1000, minimum: 0, help: "bootstrap replicates for the confidence intervals"),
    ParamSpec("seed", .int, default: 0, help: "bootstrap seed"),
    ParamSpec("allow_partial", .bool, default: false, help: "score predictions that cover only some of the table's images"),
]

runStage("score", params: params) { context in
    let replicates = try context.params.int("bootstrap")
    let seed = UInt64(bitPattern: Int64(try context.params.int("seed")))
    func read(_ file: ArtifactFile) throws -> CSVTable {
        try CSVTable(parsing: context.verifiedContents(of: file), file: context.location(of: file))
    }
    func table(_ name: String) throws -> CSVTable { try read(tableFile(named: name, in: context)) }
    let folds = try optionalTableFile(named: "folds.csv", in: context).map(read)
    let predictions = try table("predictions.csv")
    let run = try ScoreRun(predictions: predictions, table: table("train.csv"), folds: folds, replicates: replicates, seed: seed,
                           allowPartial: try context.params.bool("allow_partial"),
                           rejectedUpstream: Set(context.job.inputs.values.flatMap { $0.rejects.map(\.key) }))
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
