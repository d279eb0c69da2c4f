// mammoflow-synth: the synthetic screening cohort (RSNA's layout and encodings) as a pipeline stage.
// params: patients (200), seed (7), scale (1.0), prevalence (RSNA's 0.0206), difficulty (0.5), test_csv (false)
// writes: train.csv, train_images/<patient_id>/<image_id>.dcm, truth.jsonl (and test.csv on request).
import Shards
import Stages
import Synthesis

runStage("synth") { context in
    let p = context.params
    let parameters = CohortParameters(
        patients: try p.int("patients", default: 200),
        seed: UInt64(bitPattern: Int64(try p.int("seed", default: 7))),
        scale: try p.double("scale", default: 1),
        prevalence: try p.double("prevalence", default: CohortParameters.rsnaPrevalence),
        difficulty: try p.double("difficulty", default: 0.5))
    do { try SyntheticCohort.validate(parameters) } catch { throw StageError(stage: context.stage, reason: "\(error)") }
    context.log("synth: \(parameters.patients) patients, seed \(parameters.seed), scale \(parameters.scale), prevalence \(parameters.prevalence), difficulty \(parameters.difficulty), \(context.threads) threads")
    let summary = try SyntheticCohort.generate(parameters, into: context.outputDirectory, threads: context.threads,
                                               testCSV: try p.bool("test_csv", default: false)) { done, total in
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
