import ArgumentParser
import Foundation
import Shards
import Validation

/// `mammoflow metrics`: several runs' scores side by side, and what changed since each one's previous run.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Scores of several pipelines or variants side by side (from metrics.json files).",
        discussion: """
            Each FILE is a metrics.json (or a directory holding one); without FILEs, every metrics.json under \
            ./cache is shown. --diff adds, under each row, the change since the previous run recorded in \
            metrics.history.jsonl beside the file (`mammoflow score` appends to it).
            """)

    @Argument(help: "metrics.json files or directories holding one.")
    var files: [String] = []
    @Flag(help: "Show the change since each file's previous run.")
    var diff = false

    func run() throws {
        let paths = try files.isEmpty ? cachedMetrics() : files.map(resolve)
        guard !paths.isEmpty else { throw ValidationError("no metrics.json given and none under ./cache") }
        var rows: [[String]] = []
        for path in paths {
            let current = Headline.values(of: try JSONValue.parse(readFile(path)))
            rows.append([label(path)] + Headline.columns.map { format(current[$0.key] ?? nil) })
            guard diff else { continue }
            // The previous run: the latest history entry that differs from this file's numbers.
            let previous = try ScoreFiles.history(of: path).last { entry in
                Headline.columns.contains { (entry[$0.key] ?? nil) != (current[$0.key] ?? nil) }
            }
            guard let previous else {
                rows.append(["  (no earlier run)"] + Headline.columns.map { _ in "" })
                continue
            }
            rows.append(["  change"] + Headline.columns.map { column in
                guard let now = current[column.key] ?? nil, let before = previous[column.key] ?? nil else { return "" }
                return String(format: "%+.4f", now - before)
            })
        }
        print(table(header: ["run"] + Headline.columns.map(\.name), rows: rows))
    }

    func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ValidationError("\(path): no such file") }
        return isDirectory.boolValue ? "\(path)/metrics.json" : path
    }

    func cachedMetrics() throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: "cache") else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix("metrics.json") }.sorted().map { "cache/\($0)" }
    }

    /// A row's name: the directory the file is in, or the file's name when it is not metrics.json.
    func label(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.lastPathComponent == "metrics.json" ? url.deletingLastPathComponent().lastPathComponent : url.lastPathComponent
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
