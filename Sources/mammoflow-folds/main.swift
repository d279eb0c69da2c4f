// The folds stage: patient-grouped (and cancer-stratified) k folds of a dataset's train.csv.
// params: { k: 4, seed: S (omit for scikit-learn's unshuffled order), method: stratified-group | group }
// input: one artifact listing train.csv (synth or ingest). output: folds.csv (image, patient_id, image_id,
// fold; no pixels), per-fold counts and cancer rates in the manifest summary.
import Shards
import Stages
import Validation

runStage("folds") { context in
    let k = try context.params.int("k", default: 4)
    let method = FoldMethod(rawValue: try context.params.choice("method", FoldMethod.allCases.map(\.rawValue),
                                                                default: FoldMethod.stratifiedGroup.rawValue))!
    let seed = try context.params.value("seed").map { _ in UInt64(bitPattern: Int64(try context.params.int("seed", default: 0))) }
    let table = try CSVTable(contentsOf: try context.location(of: try tableFile(named: "train.csv", in: context)))
    let folds: FoldTable
    do { folds = try FoldTable(table: table, method: method, k: k, seed: seed) } catch let error as FoldError {
        throw StageError(stage: context.stage, reason: "\(table.file): \(error)")
    }
    try writeFileAtomically("\(context.outputDirectory)/folds.csv", Array(folds.csv.utf8))
    context.log(folds.report)
    try context.finish(records: folds.folds.count, summary: folds.summaryJSON)
}
