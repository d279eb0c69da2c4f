// The folds stage: patient-grouped (and cancer-stratified) k folds of a dataset's train.csv.
// params: declared below (`mammoflow params folds`).
// input: one artifact listing train.csv (synth or ingest). output: folds.csv (image, patient_id, image_id,
// fold; no pixels), per-fold counts and cancer rates in the manifest summary. Rejects: rows with a cell
// outside its column's kind (`CohortRows`), e.g. cancer=maybe.
import Shards
import Stages
import Validation

let params = [
    ParamSpec("k", .int, default: 4, minimum: 2, help: "how many folds"),
    ParamSpec("seed", .int, optional: true, help: "shuffle seed; leave out for scikit-learn's unshuffled order"),
    ParamSpec("method", .string, default: .string(FoldMethod.stratifiedGroup.rawValue), choices: FoldMethod.allCases.map(\.rawValue),
              help: "stratified-group keeps each fold's cancer rate close to the whole's; group only keeps patients together"),
]

runStage("folds", params: params) { context in
    let k = try context.params.int("k")
    let method = FoldMethod(rawValue: try context.params.string("method"))!
    let seed = try context.params.optional("seed").map { UInt64(bitPattern: Int64($0.intValue ?? 0)) }
    // Rows the input rejected (ingest: a bad image-describing cell, a missing file) are not the cohort's, nor
    // rows with a label or clinical cell outside its kind: rejected here, the first stage that uses labels.
    let rejected = Set(context.job.inputs.values.flatMap { $0.rejects.map(\.key) })
    let trainCSV = try tableFile(named: "train.csv", in: context)
    let (table, badRows) = try CohortRows.usableRows(
        of: CSVTable(parsing: context.verifiedContents(of: trainCSV), file: trainCSV.source ?? trainCSV.path), rejectedUpstream: rejected)
    for row in badRows { context.reject(key: row.key, file: trainCSV.source ?? trainCSV.path, reason: row.reason) }
    let folds: FoldTable
    do { folds = try FoldTable(table: table, method: method, k: k, seed: seed) } catch let error as FoldError {
        throw StageError(stage: context.stage, reason: "\(table.file): \(error)")
    }
    try writeFileAtomically("\(context.outputDirectory)/folds.csv", Array(folds.csv.utf8))
    context.log(folds.report)
    try context.finish(records: folds.folds.count, summary: folds.summaryJSON)
}
