// mammoflow-predict: cancer probabilities for every image, from the train stage's models.
// inputs: the train stage (files fold=<k>/best.mgs, fold=<k>/last.mgs), one artifact of image shards
// (pectoral, of this or another cohort), one listing train.csv or test.csv, and optionally folds.csv.
// params: declared below (`mammoflow params predict`): mode, checkpoint, tta, batch.
//   oof: each image is scored by the model of the fold it was held out in (out-of-fold predictions);
//   ensemble: the mean probability of every fold's model (a cohort no model has seen, e.g. Kaggle's test set).
// output: predictions.csv (image, patient_id, image_id, laterality, fold, prediction), one row per image;
// with `slices: N`, slice i writes predictions.<i>-of-<N>.csv and score reads them all.
import Foundation
import Neural
import Shards
import Stages
import Training
import Validation

let params = [
    ParamSpec("mode", .string, optional: true, choices: ["oof", "ensemble"],
              help: "oof: each image by its held-out fold's model; ensemble: mean of every fold's model (default: oof when folds.csv is an input)"),
    ParamSpec("checkpoint", .string, default: "best", choices: ["best", "last"], help: "which checkpoint of each fold"),
    ParamSpec("tta", .string, default: "none", choices: ["none", "hflip"], help: "hflip: mean logit of the image and its mirror image"),
    ParamSpec("batch", .int, default: 16, minimum: 1, help: "images per forward pass"),
]

runStage("predict", params: params) { context in
    BLASKernels.useTheBestForThisCPU()
    let p = context.params
    let hasFolds = try optionalTableFile(named: "folds.csv", in: context) != nil
    let mode = try p.optional("mode")?.stringValue ?? (hasFolds ? "oof" : "ensemble")
    let which = try p.string("checkpoint")
    let flip = try p.string("tta") == "hflip"
    let batch = try p.int("batch")
    Threads.configure(context.threads)

    // The fold models: files "fold=<k>/<which>.mgs" of whichever input has them.
    var checkpoints: [Int: String] = [:]
    for manifest in context.job.inputs.values {
        for file in manifest.files where file.path.hasPrefix("fold=") && file.path.hasSuffix("/\(which).mgs") {
            let name = file.path.dropFirst("fold=".count).prefix { $0 != "/" }
            guard let fold = Int(name) else { continue }
            checkpoints[fold] = try context.location(of: file)
        }
    }
    guard !checkpoints.isEmpty else {
        throw StageError(stage: context.stage, reason: "no input has fold=<k>/\(which).mgs checkpoints (a train stage with foreach: { fold: [...] })")
    }
    let models = try checkpoints.keys.sorted().map { fold in (fold, try TrainedModel(checkpoint: checkpoints[fold]!)) }
    let size = models[0].1.inputSize
    guard models.allSatisfy({ $0.1.inputSize == size }) else {
        throw StageError(stage: context.stage, reason: "the fold models take different input sizes: \(models.map { "\($0.0): \($0.1.recipe.height)x\($0.1.recipe.width)" })")
    }
    if mode == "oof" && !hasFolds {
        throw StageError(stage: context.stage, reason: "mode oof needs folds.csv from an input; use mode ensemble for a cohort without folds")
    }
    let data = try StageImages(context, binaryColumns: [], needsFolds: mode == "oof")
    var images = data.images
    if mode == "oof" {
        for image in images where checkpoints[image.fold!] == nil {
            context.reject(key: image.key, reason: "no model for fold \(image.fold!) (models: \(checkpoints.keys.sorted()))")
        }
        images = images.filter { checkpoints[$0.fold!] != nil }
    }
    context.log("predict: \(images.count) images of \(data.imageStage), \(mode) over \(models.count) \(which) models\(flip ? ", flip TTA" : "")")

    var probabilities = [Double](repeating: 0, count: images.count)
    let total = (mode == "oof" ? 1 : models.count) * ((images.count + batch - 1) / batch)
    var done = 0
    for (fold, trained) in models {
        let chosen = images.indices.filter { mode == "ensemble" || images[$0].fold == fold }
        guard !chosen.isEmpty else { continue }
        let loader = BatchLoader(images: chosen.map { images[$0] }, layout: trained.layout, input: size,
                                 prepare: try trained.recipe.loaderSteps(training: false).prepare, augment: nil, seed: 0)
        let logits = try cancerLogits(trained.model, outputs: trained.layout.outputs, loader, batchSize: batch, flip: flip) {
            done += 1
            context.progress(done: done, total: total)
        }
        for (i, index) in chosen.enumerated() {
            probabilities[index] += sigmoid(logits[i]) / Double(mode == "ensemble" ? models.count : 1)
        }
    }
    let rows = images.indices.map { i -> [String] in
        let image = images[i]
        return [image.key, image.patient, image.image, image.laterality, image.fold.map(String.init) ?? "",
                String(format: "%.6f", probabilities[i])]
    }
    let name = context.job.slice.map { "predictions.\($0.index)-of-\($0.count).csv" } ?? "predictions.csv"
    try writeFileAtomically("\(context.outputDirectory)/\(name)",
                            Array(CSVTable.format(header: ["image", "patient_id", "image_id", "laterality", "fold", "prediction"], rows: rows).utf8))
    try context.finish(records: images.count, summary: [
        "mode": .string(mode), "checkpoint": .string(which), "tta": .string(flip ? "hflip" : "none"),
        "models": .array(models.map { .int(Int64($0.0)) }), "images": .int(Int64(images.count)),
    ])
}
