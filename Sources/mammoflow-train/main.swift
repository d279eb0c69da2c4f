// mammoflow-train: fits one rung of the study's model ladder on the images of all folds but one, and
// validates on the held-out fold after each epoch. One job per fold (`foreach: { fold: [0, 1, 2, 3] }`).
// inputs: one artifact of image shards (pectoral), one listing train.csv (synth or ingest), one listing folds.csv.
// params: declared in Training's RecipeParams.swift (`mammoflow params train`, docs/training.md); `fold` is required.
// output: best.mgs (checkpoint of the best epoch by `select`), last.mgs, log.jsonl (a line per step and
// epoch), curves.png; the manifest summary holds each epoch's held-out numbers.
import Foundation
import Neural
import Shards
import Stages
import Training

runStage("train", params: TrainRecipe.parameters) { context in
    BLASKernels.useTheBestForThisCPU()
    let recipe: TrainRecipe
    do {
        recipe = try TrainRecipe(params: context.params)
        _ = try recipe.loaderSteps(training: true)
    } catch let error as StageError { throw error } catch {
        throw StageError(stage: context.stage, reason: "\(error)")
    }
    let fold = try context.params.int("fold")
    Threads.configure(context.threads)
    var columns = ["cancer"]
    for head in recipe.heads where head != .view && head != .laterality { columns.append(head.rawValue) }
    let data = try StageImages(context, binaryColumns: columns, needsFolds: true)
    let trainImages = data.images.filter { $0.fold != fold }, heldOut = data.images.filter { $0.fold == fold }
    guard !trainImages.isEmpty, !heldOut.isEmpty else {
        throw StageError(stage: context.stage, reason: "fold \(fold): \(trainImages.count) training and \(heldOut.count) held-out images; folds present: \(Set(data.images.compactMap(\.fold)).sorted())")
    }
    let layout = ModelLayout(heads: recipe.heads, views: Set(trainImages.map(\.view)).sorted())
    let size = ModelInputSize(height: recipe.height, width: recipe.width)
    let (prepare, augment) = try recipe.loaderSteps(training: true)
    let plain = try recipe.loaderSteps(training: false).prepare
    let train = BatchLoader(images: trainImages, layout: layout, input: size, prepare: prepare, augment: augment, seed: recipe.seed)
    let validation = BatchLoader(images: heldOut, layout: layout, input: size, prepare: plain, augment: nil, seed: recipe.seed)
    let trainer = try Trainer(recipe: recipe, layout: layout, train: train, validation: validation)
    context.log("train: fold \(fold), \(recipe.model.rawValue) on \(recipe.backbone.rawValue) at \(recipe.height)x\(recipe.width), \(trainer.model.parameterCount) parameters; \(trainImages.count) training images (\(trainImages.filter { $0.cancer == 1 }.count) cancer), \(heldOut.count) held out; \(context.threads) threads")
    try trainer.run(into: context.outputDirectory, reporter: TrainingReporter(
        progress: { context.progress(done: $0, total: $1) }, log: { context.log("train: \($0)") }))
    context.log("train: loader kept the model waiting \(String(format: "%.1f", train.waitSeconds)) s over \(train.waits) batches")
    let bestEpoch = trainer.bestEpoch
    try context.finish(records: trainImages.count + heldOut.count, summary: [
        "fold": .int(Int64(fold)),
        "recipe": try JSONValue(encoding: recipe),
        "train_images": .int(Int64(trainImages.count)),
        "held_out_images": .int(Int64(heldOut.count)),
        "epochs": try JSONValue(encoding: trainer.history),
        "best_auc": bestEpoch?.auc.map(JSONValue.double) ?? .null,
    ])
}
