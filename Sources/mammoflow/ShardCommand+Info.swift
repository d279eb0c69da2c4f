import ArgumentParser
import Shards

extension ShardCommand {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "info", abstract: "Print a shard's records: key, sizes and metadata.")

        @Argument(help: "The shard file (a path, or an object in the cache).")
        var shard: String

        func run() throws {
            let reader = try ShardReader(path: shard)
            let metadata = try reader.metadata()
            print("\(shard): \(reader.count) records, format version \(ShardFormat.version)")
            for (entry, meta) in zip(reader.entries, metadata) {
                let shuffled = entry.elementSize > 1 ? " (shuffled by \(entry.elementSize))" : ""
                print("  \(entry.key)  \(entry.rawLength) bytes -> \(entry.frameLength)\(shuffled)  \(meta.canonicalText)")
            }
        }
    }
}
