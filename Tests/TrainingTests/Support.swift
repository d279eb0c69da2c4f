import Foundation
import Neural
import Shards
import Stages
@testable import Training
import Validation

/// A scratch directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "mammoflow-training-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A toy cohort with a learnable signal: 12-bit 40x32 images of noise, where a cancer image has a bright
/// disc at a random place. Written as a real shard, joined with a real table and folds (k folds by patient).
struct ToyCohort {
    let directory = TemporaryDirectory()
    let images: [LabeledImage]
    let table: CSVTable

    init(patients: Int, positiveRate: Double = 0.3, k: Int = 2, seed: UInt64 = 1) throws {
        let rng = Random(seed: seed)
        var records: [(key: String, payload: [UInt8])] = []
        var rows: [[String]] = [], foldRows: [[String]] = []
        for p in 0..<patients {
            for (laterality, view) in [("L", "CC"), ("R", "MLO")] {
                let cancer = rng.uniform() < Float(positiveRate)
                let (w, h) = (32, 40)
                var samples = (0..<(w * h)).map { _ in UInt16(max(0, min(4095, 1200 + rng.normal() * 300))) }
                if cancer {
                    let (cx, cy) = (4 + rng.int(w - 8), 4 + rng.int(h - 8))
                    for y in 0..<h { for x in 0..<w where (x - cx) * (x - cx) + (y - cy) * (y - cy) <= 9 { samples[y * w + x] = 3800 } }
                }
                let patient = String(1000 + p), image = String(50_000 + records.count)
                records.append(("\(patient)/\(image)", ImagePayload(width: w, height: h, bits: 12, samples: samples).encode()))
                rows.append([patient, image, laterality, view, cancer ? "1" : "0", "0", "0"])
                foldRows.append(["\(patient)/\(image)", String(p % k)])
            }
        }
        records.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let writer = try ShardWriter(directory: directory.path)
        for r in records { try writer.append(key: r.key, payload: r.payload, elementSize: 2) }
        let reader = try ShardReader(path: "\(directory.path)/\(try writer.finish().name)")
        let metadata = try reader.metadata()
        let refs = (0..<reader.count).map { RecordRef(shard: reader, index: $0, metadata: metadata[$0]) }
        table = CSVTable(header: ["patient_id", "image_id", "laterality", "view", "cancer", "biopsy", "implant"], rows: rows, file: "train.csv")
        let folds = CSVTable(header: ["image", "fold"], rows: foldRows, file: "folds.csv")
        images = try joinImages(records: refs, table: table, folds: folds, upstreamRejects: [],
                                binaryColumns: ["cancer", "biopsy", "implant"]).images
    }

    func loader(_ images: [LabeledImage], _ recipe: TrainRecipe, layout: ModelLayout, training: Bool) throws -> BatchLoader {
        let size = ModelInputSize(height: recipe.height, width: recipe.width)
        let steps = try recipe.loaderSteps(training: training)
        return BatchLoader(images: images, layout: layout, input: size, prepare: steps.prepare, augment: steps.augment, seed: recipe.seed)
    }
}

/// A small, fast recipe on the tiny backbone.
func toyRecipe(_ model: ModelKind, epochs: Int = 3) -> TrainRecipe {
    var r = TrainRecipe.defaults(for: model)
    r.backbone = .tiny
    r.height = 40
    r.width = 32
    r.epochs = epochs
    r.batch = 8
    r.augment = "none"
    r.learningRate = 1e-2
    return r
}

let quietReporter = TrainingReporter(progress: { _, _ in }, log: { _ in })
