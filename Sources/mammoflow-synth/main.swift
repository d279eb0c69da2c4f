// mammoflow-synth: the synthetic screening cohort (RSNA's layout and encodings) as a pipeline stage.
// params: declared below (`mammoflow params synth`).
// writes: train.csv, train_images/<patient_id>/<image_id>.dcm, truth.jsonl (and test.csv on request).
import Shards
import Stages
import Synthesis

let params = [
    ParamSpec("patients", .int, default: 200, minimum: 1, help: "how many patients (about 4.5 images each)"),
    ParamSpec("seed", .int, default: 7, help: "random seed of the cohort"),
    ParamSpec("scale", .number, default: 1, minimum: 0.02, maximum: 2, help: "image size relative to the vendors' full size (above 0.02)"),
    ParamSpec("prevalence", .number, default: .double(CohortParameters.rsnaPrevalence), minimum: 0, maximum: 1, help: "fraction of breasts with cancer (RSNA's by default)"),
    ParamSpec("difficulty", .number, default: 0.5, minimum: 0, maximum: 1, help: "how subtle the lesions are"),
    ParamSpec("test_csv", .bool, default: false, help: "also write test.csv"),
]

runStage("synth", params: params) { context in
    let p = context.params
    let parameters = CohortParameters(
        patients: try p.int("patients"),
        seed: UInt64(bitPattern: Int64(try p.int("seed"))),
        scale: try p.double("scale"),
        prevalence: try p.double("prevalence"),
        difficulty: try p.double("difficulty"))
    do { try SyntheticCohort.validate(parameters) } catch { throw StageError(stage: context.stage, reason: "\(error)") }
    context.log("synth: \(parameters.patients) patients, seed \(parameters.seed), scale \(parameters.scale), prevalence \(parameters.prevalence), difficulty \(parameters.difficulty), \(context.threads) threads")
    let summary = try SyntheticCohort.generate(parameters, into: context.outputDirectory, threads: context.threads,
                                               testCSV: try p.bool("test_csv")) { done, total in
        context.progress(done: done, total: total)
    }
    context.log("synth: wrote \(summary.images) images of \(summary.patients) patients (\(summary.cancerBreasts) breasts with cancer), \(summary.bytes / 1_000_000) MB")
    try context.finish(records: summary.images, summary: [
        "images": .int(Int64(summary.images)),
        "patients": .int(Int64(summary.patients)),
        "cancer_breasts": .int(Int64(summary.cancerBreasts)),
        "bytes": .int(Int64(summary.bytes)),
        "transfer_syntaxes": .object(summary.byTransferSyntax.mapValues { .int(Int64($0)) }),
    ])
}
