import Foundation
import Neural
import Shards

/// The cancer logit of every image of a loader, in the loader's order, from a model in evaluation mode;
/// with `flip`, the mean of the logits of the image and its mirror image (test-time augmentation).
public func cancerLogits(_ model: ClassifierModel, outputs: Int, _ loader: BatchLoader, batchSize: Int, flip: Bool = false,
                         afterBatch: () -> Void = {}) throws -> [Float] {
    var logits = [Float](repeating: 0, count: loader.images.count)
    let batches = loader.batches(order: Array(loader.images.indices), batchSize: batchSize, epoch: 0)
    defer { batches.cancel() }
    // Evaluation mode that keeps no activations for a backward.
    try model.withInference {
        while let batch = try batches.next() {
            let out = model.forward(batch.x)
            let mirrored = flip ? model.forward(mirrorHorizontally(batch.x)) : nil
            for (i, index) in batch.indices.enumerated() {
                let a = out[i * outputs]
                logits[index] = mirrored.map { (a + $0[i * outputs]) / 2 } ?? a
            }
            afterBatch()
        }
    }
    return logits
}

/// x: (N, H, W, C) -> the same images mirrored left to right.
func mirrorHorizontally(_ x: Tensor) -> Tensor {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let y = Tensor(x.shape)
    for row in 0..<(n * h) {
        let src = x.data + row * w * c, dst = y.data + row * w * c
        for col in 0..<w { (dst + (w - 1 - col) * c).update(from: src + col * c, count: c) }
    }
    return y
}

public func sigmoid(_ logit: Float) -> Double { 1 / (1 + exp(-Double(logit))) }

/// A trained model rebuilt from its checkpoint alone: the recipe and layout saved in it, then the weights
/// (the averaged ones when training kept an EMA).
public struct TrainedModel {
    public let path: String
    public let recipe: TrainRecipe
    public let layout: ModelLayout
    public let model: ClassifierModel

    public init(checkpoint path: String) throws {
        guard let config = try Checkpoint.config(at: path) else {
            throw TrainingError(subject: path, reason: "not a train-stage checkpoint: it has no config record")
        }
        do {
            guard let recipeJSON = config["recipe"], let layoutJSON = config["layout"] else {
                throw TrainingError(subject: path, reason: "config lacks recipe or layout")
            }
            recipe = try recipeJSON.decode(TrainRecipe.self)
            layout = try layoutJSON.decode(ModelLayout.self)
        } catch let error as TrainingError { throw error } catch {
            throw TrainingError(subject: path, reason: "config: \(error)")
        }
        self.path = path
        model = try ClassifierModel(recipe: recipe, layout: layout)
        try Checkpoint.load(from: path, into: model, weights: config["weights"]?.stringValue == "averaged" ? .averaged : .trained)
    }

    public var inputSize: ModelInputSize { ModelInputSize(height: recipe.height, width: recipe.width) }
}
