import Shards
import Stages
import Validation

/// What the train and predict stages read: the image records of the one input with shards, joined with
/// the dataset table (train.csv, or test.csv for an unlabeled set) and, when an input lists it, folds.csv.
public struct StageImages {
    public let images: [LabeledImage]
    public let table: CSVTable
    /// The input stage whose shards hold the images.
    public let imageStage: String

    /// Joins the records; images or rows left out are recorded as the stage's rejects. The table's rows are
    /// first checked (`CohortRows.usableRows`): image records carry no labels, so this is where a bad label
    /// cell is found when no folds stage is an input.
    public init(_ context: StageContext, binaryColumns: [String], needsFolds: Bool) throws {
        // Checkpoints (a train stage's best.mgs, last.mgs) are shards too, but hold no images.
        let holders = context.job.inputs.keys.sorted().filter { name in
            context.job.inputs[name]!.shards.contains { !isCheckpointFile($0.path) }
        }
        guard holders.count == 1, let imageStage = holders.first else {
            throw StageError(stage: context.stage, reason: "needs exactly one input with image shards; found \(holders.isEmpty ? "none" : holders.joined(separator: ", "))")
        }
        let manifest = context.job.inputs[imageStage]!
        let tableFile = try optionalTableFile(named: "train.csv", in: context) ?? tableFile(named: "test.csv", in: context)
        let tableName = tableFile.source ?? tableFile.path
        let upstream = Set(context.job.inputs.values.flatMap { $0.rejects.map(\.key) })
        // Rows with a cell outside its column's kind are rejected here, unless an input (folds) already did.
        let (table, badRows) = try CohortRows.usableRows(
            of: CSVTable(parsing: context.verifiedContents(of: tableFile), file: tableName), rejectedUpstream: upstream)
        for row in badRows { context.reject(key: row.key, file: tableName, reason: row.reason) }
        let foldsFile = try optionalTableFile(named: "folds.csv", in: context)
        if needsFolds && foldsFile == nil {
            throw StageError(stage: context.stage, reason: "needs folds.csv from an input (a folds stage); inputs: \(context.job.inputs.keys.sorted().joined(separator: ", "))")
        }
        let folds = try foldsFile.map { try CSVTable(parsing: context.verifiedContents(of: $0), file: context.location(of: $0)) }
        let (images, rejects) = try joinImages(records: context.records(of: manifest), table: table, folds: folds,
                                               upstreamRejects: upstream.union(badRows.map(\.key)), binaryColumns: binaryColumns)
        for reject in rejects { context.reject(key: reject.key, reason: reject.reason) }
        self.images = images
        self.table = table
        self.imageStage = imageStage
    }
}

/// A train stage's checkpoint file: "<dir>/best.mgs" or "<dir>/last.mgs".
public func isCheckpointFile(_ path: String) -> Bool {
    let name = path.split(separator: "/").last ?? ""
    return name == "best.mgs" || name == "last.mgs"
}
