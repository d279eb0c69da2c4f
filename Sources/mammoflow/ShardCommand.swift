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
                print("  \(entry.key)  \(entry.rawLength) bytes -> \(entry.frameLength)  \(meta.canonicalText)")
            }
        }
    }

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write records' payloads to stdout (each verified against its SHA-256).")

        @Argument(help: "The shard file.")
        var shard: String

        @Option(help: "Only this record (random access: footer, index and one frame are read).")
        var key: String?

        @Flag(help: "Print the time taken (opening included) to stderr: wall and CPU milliseconds.")
        var time = false

        func run() throws {
            var cpuAtStart = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpuAtStart)
            let startCPU = Double(cpuAtStart.tv_sec) * 1e3 + Double(cpuAtStart.tv_nsec) / 1e6
            let start = DispatchTime.now()
            let reader = try ShardReader(path: shard)
            let indices: [Int]
            if let key {
                guard let i = reader.index(of: key) else { throw ValidationError("no record '\(key)' in \(shard)") }
                indices = [i]
            } else {
                indices = Array(0..<reader.count)
            }
            var bytes = 0
            try reader.forEachPayload(indices) { _, payload in
                bytes += payload.count
                guard fwrite(payload.baseAddress, 1, payload.count, stdout) == payload.count else {
                    throw ShardError(path: "stdout", reason: "write failed: \(String(cString: strerror(errno)))")
                }
            }
            fflush(stdout)
            if time {
                // Wall time can be dominated by other processes on a busy machine; CPU time is this work alone.
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
                var cpu = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
                let cpuMs = (Double(cpu.tv_sec) * 1e3 + Double(cpu.tv_nsec) / 1e6) - startCPU
                FileHandle.standardError.write(Data("\(String(format: "%.3f", ms)) ms wall, \(String(format: "%.3f", cpuMs)) ms cpu, \(bytes) bytes\n".utf8))
            }
            // Closing the reader (unmapping the file and its buffers) is teardown, not access: after the clock.
            withExtendedLifetime(reader) {}
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

        func run() throws {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let writer = try ShardWriter(directory: output, level: level)
            let sorted = files.map { (URL(fileURLWithPath: $0).lastPathComponent, $0) }.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            for (key, path) in sorted {
                try writer.append(key: key, metadata: ["file": .string(path)], payload: try readFile(path))
            }
            let info = try writer.finish()
            print("\(output)/\(info.name)  \(info.records) records, \(info.size) bytes")
        }
    }
}
