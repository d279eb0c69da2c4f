#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Shards

/// `mammoflow shard`: look inside shard files, and make them from plain files.
struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract: "Inspect shard files (docs/shard-format.md), pack files into one, or print their records.",
        subcommands: [Info.self, Cat.self, Pack.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a shard's records: key, sizes and metadata.")

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

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write records' payloads to stdout (each verified against its SHA-256).")

        @Argument(help: "The shard file.")
        var shard: String

        @Option(help: "Only this record, by random access (footer, index and one record's bytes are read); repeat for several, each read on its own.")
        var key: [String] = []

        @Flag(help: "Print the time taken to stderr, wall and CPU milliseconds: for the whole read, or per --key (the first including opening the shard).")
        var time = false

        func run() throws {
            var clock = Stopwatch()
            let reader = try ShardReader(path: shard)
            // Each key is one random access; without keys the whole shard is read in one pipelined pass.
            let reads: [[Int]] = try key.isEmpty ? [Array(0..<reader.count)] : key.map { key in
                guard let i = reader.index(of: key) else { throw ValidationError("no record '\(key)' in \(shard)") }
                return [i]
            }
            for indices in reads {
                var bytes = 0
                try reader.forEachPayload(indices) { _, payload in
                    bytes += payload.count
                    guard fwrite(payload.baseAddress, 1, payload.count, stdout) == payload.count else {
                        throw ShardError(path: "stdout", reason: "write failed: \(String(cString: strerror(errno)))")
                    }
                }
                fflush(stdout)
                // Wall time can be dominated by other processes on a busy machine; CPU time is this work alone.
                if time { FileHandle.standardError.write(Data("\(clock.lap()), \(bytes) bytes\n".utf8)) }
            }
            // Closing the reader (unmapping the file and its buffers) is teardown, not access: after the clock.
            withExtendedLifetime(reader) {}
        }
    }

    /// Wall and CPU time since the last lap.
    struct Stopwatch {
        private var wall = DispatchTime.now().uptimeNanoseconds
        private var cpu = Stopwatch.cpuNanoseconds()

        private static func cpuNanoseconds() -> UInt64 {
            var now = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
            return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        }

        /// "W ms wall, C ms cpu" since the last lap (or the start), and a new lap begins.
        mutating func lap() -> String {
            let (wallNow, cpuNow) = (DispatchTime.now().uptimeNanoseconds, Stopwatch.cpuNanoseconds())
            defer { (wall, cpu) = (wallNow, cpuNow) }
            return String(format: "%.3f ms wall, %.3f ms cpu", Double(wallNow - wall) / 1e6, Double(cpuNow - cpu) / 1e6)
        }
    }

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write files as the records of one shard (key = file name), in key order.")

        @Argument(help: "The directory to write the shard into.")
        var output: String

        @Argument(help: "The files.")
        var files: [String]

        @Option(help: "zstd level.")
        var level: Int32 = 3

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
