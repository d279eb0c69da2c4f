import ArgumentParser
import Foundation
import Imaging
import Pipeline
import Shards

/// `mammoflow sheet`: a PNG contact sheet of an image artifact, to see a preprocessing variant at a glance.
struct SheetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheet",
        abstract: "Draw a contact sheet of an image artifact's records (thumbnails, labels, crop box, pectoral line).")

    @Argument(help: "A stage of the pipeline (its fresh artifact is shown), or an artifact directory holding manifest.json, a manifest.json or an .mgs shard.")
    var stage: String

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    @Option(parsing: .upToNextOption, help: "Record keys to show (\"<patient_id>/<image_id>\").")
    var ids: [String] = []

    @Option(help: "Show this many records, evenly spaced over the artifact (when no --ids).")
    var sample: Int = 24

    @Flag(help: "Draw the crop box (green) and pectoral line (red).")
    var overlay = false

    @Option(help: "Columns of the grid (default: about square).")
    var columns: Int?

    @Option(name: .shortAndLong, help: "The PNG to write.")
    var output: String

    func run() throws {
        let shards = try shardPaths().map { try ShardReader(path: $0) }
        var entries: [(shard: ShardReader, index: Int, metadata: JSONValue)] = []
        for shard in shards {
            for (i, m) in try shard.metadata().enumerated() { entries.append((shard, i, m)) }
        }
        entries.sort { $0.shard.entries[$0.index].key < $1.shard.entries[$1.index].key }
        let chosen: [(shard: ShardReader, index: Int, metadata: JSONValue)]
        if ids.isEmpty {
            let n = min(max(sample, 1), entries.count)
            chosen = (0..<n).map { entries[$0 * entries.count / n] }
        } else {
            let byKey = Dictionary(entries.map { ($0.shard.entries[$0.index].key, $0) }, uniquingKeysWith: { a, _ in a })
            chosen = try ids.map { id in
                guard let e = byKey[id] else { throw ValidationError("no record \"\(id)\" in \(stage)") }
                return e
            }
        }
        guard !chosen.isEmpty else { throw ValidationError("the artifact has no records") }
        let items = try chosen.map { e in
            let image = GrayImage(try ImagePayload(decoding: try e.shard.payload(at: e.index)))
            return ContactSheet.Item(key: e.shard.entries[e.index].key, image: image, metadata: e.metadata, overlay: overlay)
        }
        var layout = ContactSheet.Layout()
        layout.columns = columns
        layout.title = "\(URL(fileURLWithPath: stage).lastPathComponent) - \(items.count) of \(entries.count) records"
        try PNG.write(ContactSheet.render(items, layout: layout, threads: ProcessInfo.processInfo.activeProcessorCount), to: output)
        print("wrote \(output) (\(items.count) images)")
    }

    /// The shard files to show: a path's, or the stage's fresh artifact in the store.
    private func shardPaths() throws -> [String] {
        if stage.hasSuffix(".mgs") { return [stage] }
        let manifestPath = stage.hasSuffix(".json") ? stage : "\(stage)/manifest.json"
        if FileManager.default.fileExists(atPath: manifestPath) {
            let manifest = try JSONValue.parse(try readFile(manifestPath)).decode(ArtifactManifest.self)
            let directory = URL(fileURLWithPath: manifestPath).deletingLastPathComponent().path
            return manifest.shards.map { $0.location ?? "\(directory)/\($0.path)" }
        }
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        guard let entry = engine.states().first(where: { $0.stage.name == stage }) else {
            throw ValidationError("'\(stage)' is neither a stage of \(pipeline.file) nor an artifact on disk")
        }
        guard case .fresh(let artifact, _) = entry.state else {
            throw ValidationError("stage '\(stage)' is stale (run it first: \(pipeline.hint("run", cache: cacheOptions)) --until \(stage))")
        }
        return engine.located(artifact).shards.map { $0.location! }
    }
}
