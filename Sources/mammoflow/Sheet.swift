import ArgumentParser
import Foundation
import Imaging
import Shards

/// `mammoflow sheet`: a PNG contact sheet of an image artifact, to see a preprocessing variant at a glance.
struct Sheet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheet",
        abstract: "Draw a contact sheet of an image artifact's records (thumbnails, labels, crop box, pectoral line).")

    @Argument(help: "An artifact directory (holding manifest.json), a manifest.json, or .mgs shard files.")
    var artifact: [String]

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
        let shards = try artifact.flatMap(shardPaths).map { try ShardReader(path: $0) }
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
                guard let e = byKey[id] else { throw ValidationError("no record \"\(id)\" in \(artifact.joined(separator: " "))") }
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
        layout.title = "\(artifact.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "") - \(items.count) of \(entries.count) records"
        try PNG.write(ContactSheet.render(items, layout: layout, threads: ProcessInfo.processInfo.activeProcessorCount), to: output)
        print("wrote \(output) (\(items.count) images)")
    }

    /// The shard files an argument names.
    private func shardPaths(_ path: String) throws -> [String] {
        if path.hasSuffix(".mgs") { return [path] }
        let manifestPath = path.hasSuffix(".json") ? path : "\(path)/manifest.json"
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw ValidationError("\(path): not a shard, a manifest.json or an artifact directory holding one")
        }
        let manifest = try JSONValue.parse(try readFile(manifestPath)).decode(ArtifactManifest.self)
        let directory = URL(fileURLWithPath: manifestPath).deletingLastPathComponent().path
        return manifest.shards.map { $0.location ?? "\(directory)/\($0.path)" }
    }
}
