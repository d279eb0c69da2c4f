#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Shards

extension ShardCommand {
    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cat", abstract: "Write records' payloads to stdout (each verified against its SHA-256).")

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
}
