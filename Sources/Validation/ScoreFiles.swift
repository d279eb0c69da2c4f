import Foundation
import Shards

/// metrics.json and its history: the files `mammoflow score` and the score stage write, and that
/// `mammoflow metrics` reads back.
public enum ScoreFiles {
    /// metrics.json bytes: sorted keys, snake_case names, so equal reports give equal bytes.
    public static func encode(_ report: ScoreReport) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array(try encoder.encode(report)) + [0x0A]
    }

    /// The history kept beside a metrics file: one JSON line per run.
    public static func historyPath(of metricsPath: String) -> String {
        URL(fileURLWithPath: metricsPath).deletingLastPathComponent().appendingPathComponent("metrics.history.jsonl").path
    }

    /// Appends one run's headline to the history beside `metricsPath`.
    public static func appendHistory(of metricsPath: String, headline: [String: Double?], date: Date = Date()) throws {
        let entry: JSONValue = .object([
            "time": .string(ISO8601DateFormatter().string(from: date)),
            "metrics": .object(headline.mapValues { $0.map(JSONValue.double) ?? .null }),
        ])
        let path = historyPath(of: metricsPath)
        let old = FileManager.default.fileExists(atPath: path) ? try readFile(path) : []
        try writeFileAtomically(path, old + Array((entry.canonicalText + "\n").utf8))
    }

    /// The runs recorded beside `metricsPath`, oldest first (empty when there is no history).
    public static func history(of metricsPath: String) throws -> [[String: Double?]] {
        let path = historyPath(of: metricsPath)
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = String(decoding: try readFile(path), as: UTF8.self)
        return try text.split(separator: "\n").enumerated().map { n, line in
            guard let metrics = try? JSONValue.parse(String(line))["metrics"]?.objectValue else {
                throw CSVError(file: path, line: n + 1, reason: "not a history entry")
            }
            return metrics.mapValues { $0.doubleValue }
        }
    }
}

/// The columns `mammoflow metrics` shows, and where each lives in metrics.json.
public enum Headline {
    /// (key in manifests and history, column title, path in metrics.json)
    public static let columns: [(key: String, name: String, path: [String])] = [
        ("pf1_breast_mean", "pF1 breast mean", ["levels", "breast_mean", "probabilistic_f1"]),
        ("pf1_breast_max", "pF1 breast max", ["levels", "breast_max", "probabilistic_f1"]),
        ("pf1_image", "pF1 image", ["levels", "image", "probabilistic_f1"]),
        ("auc_image", "AUC image", ["levels", "image", "roc_auc"]),
        ("auc_breast_max", "AUC breast max", ["levels", "breast_max", "roc_auc"]),
        ("ap_image", "AP image", ["levels", "image", "average_precision"]),
        ("f1_honest", "F1 honest", ["levels", "image", "honest", "f1"]),
        ("f1_optimistic", "F1 optimistic", ["levels", "image", "optimistic", "f1"]),
        ("sensitivity_honest", "sens honest", ["levels", "image", "honest", "sensitivity"]),
        ("specificity_honest", "spec honest", ["levels", "image", "honest", "specificity"]),
    ]

    /// The headline numbers of a metrics.json document by column key (nil where undefined or absent).
    public static func values(of metrics: JSONValue) -> [String: Double?] {
        var out: [String: Double?] = [:]
        for column in columns {
            var node: JSONValue? = metrics
            for key in column.path { node = node?[key] }
            out[column.key] = .some(node?.doubleValue)
        }
        return out
    }

    public static func values(of report: ScoreReport) throws -> [String: Double?] {
        values(of: try JSONValue.parse(ScoreFiles.encode(report)))
    }
}

/// One scoring of a predictions file: the join, the report, and the files written from them.
public struct ScoreRun {
    public let images: [ScoredImage]
    /// Prediction rows that could not be scored.
    public let rejects: [RowReject]
    /// Table rows with a cell outside its column's kind (`CohortRows`, e.g. cancer=maybe) that no earlier
    /// stage rejected: left out of the scoring, with the reason naming the table's file and line.
    public let tableRejects: [(key: String, reason: String)]
    public let report: ScoreReport

    /// Predictions for only some of the table's images are an error unless `allowPartial`: metrics of
    /// different subsets would otherwise be compared as if they were of one cohort. Images an earlier stage
    /// rejected (`rejectedUpstream`, keys `<patient_id>/<image_id>`) were reported there, and rows rejected
    /// here (`tableRejects`) are reported by the caller: both are counted in the coverage, not held against it.
    public init(predictions: CSVTable, table: CSVTable, folds: CSVTable? = nil, replicates: Int, seed: UInt64,
                allowPartial: Bool = false, rejectedUpstream: Set<String> = []) throws {
        let (usable, badRows) = try CohortRows.usableRows(of: table, rejectedUpstream: [])
        tableRejects = badRows.filter { !rejectedUpstream.contains($0.key) }
        (images, rejects) = try ScoringInput.join(predictions: predictions, table: usable, folds: folds)
        guard !images.isEmpty else {
            throw CSVError(file: predictions.file, reason: "no usable prediction (\(rejects.count) rejected)")
        }
        let scored = Set(images.map { "\($0.patient)/\($0.image)" })
        let unscored = try ScoringInput.keys(of: table).filter { !scored.contains($0) }
        let rejected = rejectedUpstream.union(badRows.map(\.key))
        let missing = unscored.filter { !rejected.contains($0) }
        let coverage = Coverage(imagesScored: images.count, imagesInTable: table.rows.count,
                                imagesRejected: unscored.count - missing.count)
        if !missing.isEmpty && !allowPartial {
            throw CSVError(file: predictions.file, reason: "predictions cover \(coverage.imagesScored) of the \(coverage.imagesInTable) images of \(table.file)"
                + (coverage.imagesRejected > 0 ? " (\(coverage.imagesRejected) rejected)" : "")
                + "; none for \(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? ", ..." : "");"
                + " score a partial set only on purpose: --allow-partial (stage param allow_partial: true)")
        }
        var report = scorePredictions(images, replicates: replicates, seed: seed)
        report.coverage = coverage
        self.report = report
    }

    /// Writes `metrics.json` (at `metricsPath`) and, beside it, roc.png, pr.png and calibration.png.
    public func write(metricsPath: String) throws {
        let directory = URL(fileURLWithPath: metricsPath).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try writeFileAtomically(metricsPath, try ScoreFiles.encode(report))
        try ScorePlots.write(images, report, to: directory)
    }

    /// A few lines for people.
    public var summary: String {
        func show(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
        func show(_ i: Interval?) -> String { i.map { String(format: "[%.4f, %.4f]", $0.low, $0.high) } ?? "" }
        var lines = ["\(report.images) images, \(report.breasts) breasts, \(report.patients) patients, \(report.positiveImages) cancer images"]
        if let coverage = report.coverage {
            lines.append("scored \(coverage.imagesScored) of the table's \(coverage.imagesInTable) images"
                + (coverage.imagesRejected > 0 ? ", \(coverage.imagesRejected) rejected" : "")
                + (coverage.isComplete ? "" : " (a partial set)"))
        }
        for aggregation in Aggregation.allCases {
            guard let level = report.levels[aggregation.rawValue] else { continue }
            lines.append("\(aggregation.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) pF1 \(show(level.probabilisticF1)) \(show(level.probabilisticF1Interval))"
                + "  AUC \(show(level.rocAUC)) \(show(level.rocAUCInterval))  AP \(show(level.averagePrecision))"
                + "  F1 honest \(show(level.honest?.f1)) optimistic \(show(level.optimistic?.f1))")
        }
        return lines.joined(separator: "\n")
    }
}
