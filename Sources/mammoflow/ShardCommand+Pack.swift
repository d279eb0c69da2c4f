import ArgumentParser
import Foundation
import Shards

extension ShardCommand {
    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pack", abstract: "Write files as the records of one shard (key = file name), in key order.")

        @Argument(help: "The directory to write the shard into.")
        var output: String

        @Argument(help: "The files.")
        var files: [String]

        @Option(help: "zstd level.")
        var level: Int32 = ShardFormat.defaultLevel

        @Option(help: "Byte-shuffle records as numbers of this many bytes before compressing (2 for 16-bit samples, 4 for float32); 1 stores them as they are.")
        var elementSize: Int = 1

        func run() throws {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let writer = try ShardWriter(directory: output, level: level)
            let sorted = files.map { (URL(fileURLWithPath: $0).lastPathComponent, $0) }.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            for (key, path) in sorted {
                try writer.append(key: key, metadata: ["file": .string(path)], payload: try readFile(path), elementSize: elementSize)
            }
            let info = try writer.finish()
            print("\(output)/\(info.name)  \(info.records) records, \(info.size) bytes")
        }
    }
}
