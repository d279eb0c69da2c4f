import ArgumentParser
import Foundation
import Pipeline
import Shards

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a fresh stage's records and metadata; with --id, one record's metadata and pixel statistics."
    )

    @Argument(help: "The stage.")
    var stage: String

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    @Option(help: "One record's key.")
    var id: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "List every reject (key, stage, reason, file), one per line.")
    var rejects = false

    @Option(help: ArgumentHelp("With --id: write the record's image as an 8-bit PNG for looking at.", valueName: "OUT.png"))
    var png: String?

    func run() throws {
        cacheOptions.noteIfMissing()
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        guard let entry = engine.states().first(where: { $0.stage.name == stage }) else {
            throw ValidationError("no stage '\(stage)' in \(pipeline.file)")
        }
        guard case .fresh(let artifact, _) = entry.state else {
            throw ValidationError("stage '\(stage)' is stale (run it first: \(pipeline.hint("run", cache: cacheOptions)) --until \(stage))")
        }
        if rejects && !json {
            for reject in artifact.rejects {
                print([reject.key, reject.stage ?? "-", reject.reason, reject.file ?? "-"].joined(separator: "\t"))
            }
            return
        }
        let located = engine.located(artifact)
        let shards = try located.shards.map { try ShardReader(path: $0.location!) }
        if png != nil && id == nil { throw ValidationError("--png needs --id KEY") }
        if let id { return try showRecord(id, in: shards) }

        var rows: [JSONValue] = []
        for shard in shards { rows += try shard.metadata() }
        if json {
            let summary: JSONValue = ["stage": .string(stage), "records": .int(Int64(artifact.records)),
                                      "files": .array(artifact.files.map { ["path": .string($0.path), "sha256": .string($0.sha256), "size": .int(Int64($0.size))] }),
                                      "rejects": (try? JSONValue(encoding: artifact.rejects)) ?? .null,
                                      "summary": artifact.summary, "metadata": .array(rows)]
            print(summary.canonicalText)
            return
        }
        print("\(stage): \(artifact.records) records in \(artifact.shards.count) shards, \(artifact.files.count - artifact.shards.count) other files, \(artifact.rejects.count) rejects")
        if artifact.summary != .object([:]) { print("summary: \(artifact.summary.canonicalText)") }
        for row in rows.prefix(50) { print("  \(row.canonicalText)") }
        if rows.count > 50 { print("  ... \(rows.count - 50) more (--json for all)") }
        let others = artifact.files.filter { !$0.isShard }
        for file in others.prefix(50) { print("  \(file.path)  \(file.size) bytes  \(file.sha256.prefix(12))\(file.source.map { "  (\($0))" } ?? "")") }
        if others.count > 50 { print("  ... \(others.count - 50) more files (--json for all)") }
        for reject in artifact.rejects.prefix(20) { print("reject \(reject.key): \(reject.reason)\(reject.file.map { " (\($0))" } ?? "")") }
        if artifact.rejects.count > 20 { print("... \(artifact.rejects.count - 20) more: \(pipeline.hint("show \(stage)", cache: cacheOptions)) --rejects") }
    }

    func showRecord(_ id: String, in shards: [ShardReader]) throws {
        guard let shard = shards.first(where: { $0.index(of: id) != nil }), let i = shard.index(of: id) else {
            throw ValidationError("no record '\(id)' in stage '\(stage)'")
        }
        let metadata = try shard.metadata()[i]
        let payload = try shard.payload(at: i)
        let image = try? ImagePayload(decoding: payload)
        let statistics = image.map(PixelStatistics.init)
        if let png {
            guard let image else { throw ValidationError("record '\(id)' is not an image") }
            try writePNG(image, to: png)
        }
        if json {
            var object: [String: JSONValue] = ["metadata": metadata, "bytes": .int(Int64(payload.count))]
            if let statistics { object["pixels"] = try JSONValue(encoding: statistics) }
            print(JSONValue.object(object).canonicalText)
            return
        }
        print("record \(id) (\(payload.count) bytes, shard \(URL(fileURLWithPath: shard.path).lastPathComponent.prefix(12)))")
        for (k, v) in (metadata.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) { print("  \(k): \(v.canonicalText)") }
        if let s = statistics {
            print("pixels: \(s.width)x\(s.height), \(s.bits) bits; min \(s.min) max \(s.max) mean \(String(format: "%.1f", s.mean))")
            print("  percentiles: " + ["p1", "p5", "p25", "p50", "p75", "p95", "p99"].map { "\($0) \(s.percentiles[$0] ?? 0)" }.joined(separator: ", "))
        }
        if let png { print("wrote \(png)") }
    }
}
