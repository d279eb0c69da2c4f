import Shards
import Stages
import Validation

/// One image record joined with its table row: what training, validation and prediction read.
/// Labels come from the table (train.csv), never from the image record's metadata, so that a label fix
/// reruns only the stages that join labels.
public struct LabeledImage: @unchecked Sendable {
    /// "<patient_id>/<image_id>", the key of every mammoflow table and shard.
    public let key: String
    public let patient: String
    public let image: String
    public let laterality: String
    public let view: String
    /// The binary columns asked for when joining (cancer, biopsy, implant, ...), as 0/1.
    public let labels: [String: Int]
    /// The fold the image is held out in (nil without a folds table).
    public let fold: Int?
    public let record: RecordRef

    public var cancer: Int? { labels["cancer"] }
    /// The competition's prediction_id: one per breast.
    public var breast: String { "\(patient)_\(laterality)" }
}

/// A record or table row left out of the join, and why.
public struct JoinReject: Sendable, Equatable {
    public let key: String
    public let reason: String
}

/// Joins image records (keys "<patient_id>/<image_id>") with the table's rows and, when given, the folds table.
/// An image without a row (or without a fold), or a row without an image, is a reject, except images and
/// rows an upstream stage already rejected (`upstreamRejects`: reported once, there; e.g. a row the folds
/// stage found a bad label in, whose image the image stages still have). `binaryColumns` must be present
/// and 0/1 in every row (else the table is refused, naming file, line and column).
public func joinImages(records: [RecordRef], table: CSVTable, folds: CSVTable?, upstreamRejects: Set<String>,
                       binaryColumns: [String]) throws -> (images: [LabeledImage], rejects: [JoinReject]) {
    let keys = try ScoringInput.keys(of: table)
    let lateralities = try table.strings("laterality"), views = try table.strings("view")
    let columns = try binaryColumns.map { try table.binary($0) }
    var rowOf: [String: Int] = [:]
    for (r, key) in keys.enumerated() where rowOf.updateValue(r, forKey: key) != nil {
        throw CSVError(file: table.file, line: table.lines[r], reason: "image \(key) appears twice")
    }
    var foldOf: [String: Int] = [:]
    if let folds {
        for (key, fold) in zip(try ScoringInput.keys(of: folds), try folds.ints("fold")) { foldOf[key] = fold }
    }
    var images: [LabeledImage] = []
    var rejects: [JoinReject] = []
    var seen = upstreamRejects
    for record in records {
        let key = record.key
        if upstreamRejects.contains(key) { continue }
        seen.insert(key)
        guard let r = rowOf[key] else {
            rejects.append(JoinReject(key: key, reason: "image record has no row in \(table.file)")); continue
        }
        if let folds, foldOf[key] == nil {
            rejects.append(JoinReject(key: key, reason: "image has no fold in \(folds.file)")); continue
        }
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        let labels = Dictionary(uniqueKeysWithValues: zip(binaryColumns, columns.map { $0[r] }))
        images.append(LabeledImage(key: key, patient: parts[0], image: parts.count > 1 ? parts[1] : "",
                                   laterality: lateralities[r], view: views[r], labels: labels,
                                   fold: foldOf[key], record: record))
    }
    for (r, key) in keys.enumerated() where !seen.contains(key) {
        rejects.append(JoinReject(key: key, reason: "\(table.file) line \(table.lines[r]) has no image record"))
    }
    return (images, rejects)
}
