import Shards

/// Folds of a cohort table (train.csv layout) as the folds stage and `mammoflow folds` write them:
/// `folds.csv` with columns image ("<patient_id>/<image_id>"), patient_id, image_id, fold, in the
/// table's row order, plus a per-fold summary. Groups are patients; strata are the `cancer` labels.
public struct FoldTable {
    public let method: FoldMethod
    public let k: Int
    public let seed: UInt64?
    public let patients: [String]
    public let images: [String]
    public let folds: [Int]
    public let labels: [Int]
    public let summary: [FoldSummary]

    public init(table: CSVTable, method: FoldMethod, k: Int, seed: UInt64?) throws {
        let patients = try table.strings("patient_id"), images = try table.strings("image_id")
        let labels: [Int]
        if table.has("cancer") {
            labels = try table.binary("cancer")
        } else if method == .group {
            labels = [Int](repeating: 0, count: table.count)
        } else {
            throw CSVError(file: table.file, line: 1, column: "cancer",
                           reason: "stratified folds need the cancer labels; this table has none (use method group)")
        }
        self.method = method
        self.k = k
        self.seed = seed
        self.patients = patients
        self.images = images
        self.labels = labels
        self.folds = try kFold(method: method, k: k, groups: patients, labels: labels, seed: seed)
        self.summary = summarizeFolds(folds, k: k, groups: patients, labels: labels)
    }

    public var csv: String {
        CSVTable.format(header: ["image", "patient_id", "image_id", "fold"],
                        rows: folds.indices.map { ["\(patients[$0])/\(images[$0])", patients[$0], images[$0], String(folds[$0])] })
    }

    /// For the artifact's manifest: settings, totals and each fold's counts and cancer rate.
    public var summaryJSON: JSONValue {
        let positives = labels.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        return .object([
            "method": .string(method.rawValue),
            "k": .int(Int64(k)),
            "seed": seed.map { .int(Int64(bitPattern: $0)) } ?? .null,
            "shuffled": .bool(seed != nil),
            "images": .int(Int64(folds.count)),
            "patients": .int(Int64(Set(patients).count)),
            "positive_rate": .double(folds.isEmpty ? 0 : Double(positives) / Double(folds.count)),
            "folds": .array(summary.map { fold in
                .object(["fold": .int(Int64(fold.fold)), "images": .int(Int64(fold.images)),
                         "patients": .int(Int64(fold.groups)), "positives": .int(Int64(fold.positives)),
                         "positive_rate": .double(fold.positiveRate)])
            }),
        ])
    }

    /// A few lines for people: one per fold.
    public var report: String {
        var lines = ["fold  images  patients  cancers  cancer rate"]
        for f in summary {
            lines.append(String(format: "%4d  %6d  %8d  %7d  %10.3f%%", f.fold, f.images, f.groups, f.positives, 100 * f.positiveRate))
        }
        return lines.joined(separator: "\n")
    }
}
