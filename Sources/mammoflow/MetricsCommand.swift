import ArgumentParser
import Foundation
import Pipeline
import Shards
import Validation

/// `mammoflow metrics`: several runs' scores side by side, and what changed since each one's previous run.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Scores of several pipelines or variants side by side, and the change since each one's previous run.",
        discussion: """
            Each FILE is a metrics.json (or a directory holding one); its previous run is the last different \
            entry of metrics.history.jsonl beside it (`mammoflow score` appends there). Without FILEs, every \
            score run in the cache is read: one row per pipeline and stage, its newest run, and (with --diff) \
            the change since the run before it.
            """)

    @Argument(help: "metrics.json files or directories holding one.")
    var files: [String] = []
    @Flag(help: "Show the change since each row's previous run.")
    var diff = false
    @OptionGroup var cacheOptions: CacheOptions

    /// One row: a run's headline numbers and its previous run's (nil when there is none).
    struct Row {
        var label: String
        var current: [String: Double?]
        var previous: [String: Double?]?
    }

    func run() throws {
        let rows = try files.isEmpty ? cachedRows() : files.map(fileRow)
        guard !rows.isEmpty else { throw ValidationError("no metrics.json given and no score run in \(cacheOptions.cache)") }
        var lines: [[String]] = []
        for row in rows {
            lines.append([row.label] + Headline.columns.map { format(row.current[$0.key] ?? nil) })
            guard diff else { continue }
            guard let previous = row.previous else {
                lines.append(["  (no earlier run)"] + Headline.columns.map { _ in "" })
                continue
            }
            lines.append(["  change"] + Headline.columns.map { column in
                guard let now = row.current[column.key] ?? nil, let before = previous[column.key] ?? nil else { return "" }
                return String(format: "%+.4f", now - before)
            })
        }
        print(table(header: ["run"] + Headline.columns.map(\.name), rows: lines))
    }

    func fileRow(_ argument: String) throws -> Row {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else { throw ValidationError("\(argument): no such file") }
        let path = isDirectory.boolValue ? "\(argument)/metrics.json" : argument
        let current = Headline.values(of: try JSONValue.parse(readFile(path)))
        // The previous run: the latest history entry that differs from this file's numbers.
        let previous = try ScoreFiles.history(of: path).last { entry in
            Headline.columns.contains { (entry[$0.key] ?? nil) != (current[$0.key] ?? nil) }
        }
        let url = URL(fileURLWithPath: path)
        let label = url.lastPathComponent == "metrics.json" ? url.deletingLastPathComponent().lastPathComponent : url.lastPathComponent
        return Row(label: label, current: current, previous: previous)
    }

    /// Every run record whose artifact has a metrics.json, grouped by pipeline and stage, newest first by
    /// the time its record was committed.
    func cachedRows() throws -> [Row] {
        let store = cacheOptions.store
        var runs: [String: [(date: Date, metrics: [String: Double?])]] = [:]
        for key in store.allRunKeys() {
            guard let record = store.readRun(key), let file = record.manifest.file("metrics.json"),
                  let bytes = try? readFile(store.objectPath(file.sha256)) else { continue }
            let date = (try? FileManager.default.attributesOfItem(atPath: store.runPath(key))[.modificationDate] as? Date) ?? .distantPast
            let pipeline = URL(fileURLWithPath: record.pipeline).deletingPathExtension().lastPathComponent
            runs["\(pipeline):\(record.stage)", default: []].append((date, Headline.values(of: try JSONValue.parse(bytes))))
        }
        return runs.keys.sorted().map { label in
            let newestFirst = runs[label]!.sorted { $0.date > $1.date }
            return Row(label: label, current: newestFirst[0].metrics, previous: newestFirst.dropFirst().first?.metrics)
        }
    }

    func format(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }

    func table(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
