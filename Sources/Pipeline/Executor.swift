#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// One process to start: `<executable> --job <jobFile>`, writing into `outputDirectory`.
public struct ProcessJob: Sendable {
    /// `decode`, `train[fold=0]`, `decode#2/4` (slice 2 of 4): for the progress display and errors.
    public let label: String
    public let executable: String
    public let jobFile: String
    public let outputDirectory: String
    public let logFile: String
    public let environment: [String: String]
    /// What the job asks a cluster for (its stage's `resources:`).
    public var resources = StageResources()
}

/// Runs stage jobs. The scheduler calls `execute` from one thread per running job; `terminateAll` from
/// a signal handler. Tests use an in-process executor; `ProcessExecutor` starts real processes.
public protocol JobExecutor: AnyObject, Sendable {
    /// Runs the job to completion; each line the job writes to stderr (or stdout) goes to `onLine`.
    /// Returns the exit status (128 + signal when killed by a signal).
    func execute(_ job: ProcessJob, onLine: @escaping (String) -> Void) -> Int32
    /// Stops every running job (SIGTERM, then SIGKILL after a grace period).
    func terminateAll()
    /// The threads a job may use, written into its job.json: `share` is the scheduler's share of the local
    /// cores among the running jobs; an executor that runs jobs elsewhere gives what it allocated there.
    func threads(for job: ProcessJob, share: Int) -> Int
}

extension JobExecutor {
    public func threads(for job: ProcessJob, share: Int) -> Int { share }
}

/// Starts each job as a child process with stdout and stderr on one pipe, read line by line.
public final class ProcessExecutor: JobExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var running: [Int32: ProcessJob] = [:]
    private var terminating = false

    public init() {}

    public func execute(_ job: ProcessJob, onLine: @escaping (String) -> Void) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: job.executable)
        process.arguments = ["--job", job.jobFile]
        process.currentDirectoryURL = URL(fileURLWithPath: job.outputDirectory).deletingLastPathComponent()
        process.environment = ProcessInfo.processInfo.environment.merging(job.environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        lock.lock()
        if terminating {
            lock.unlock()
            return 128 + SIGTERM
        }
        let exit: ProcessExit
        do { exit = try process.start() } catch {
            lock.unlock()
            onLine("cannot start \(job.executable): \(error)")
            return 127
        }
        running[process.processIdentifier] = job
        lock.unlock()
        try? pipe.fileHandleForWriting.close()

        let reader = pipe.fileHandleForReading
        var lines = LineBuffer()
        while true {
            let data = reader.availableData
            if data.isEmpty { break }
            lines.append(data, onLine)
        }
        lines.flush(onLine)
        exit.wait()
        lock.lock()
        running[process.processIdentifier] = nil
        lock.unlock()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    public func terminateAll() {
        lock.lock()
        terminating = true
        let pids = Array(running.keys)
        lock.unlock()
        for pid in pids { kill(pid, SIGTERM) }
        // Stages get a moment to exit on their own; whatever is left is killed.
        DispatchQueue.global().asyncAfter(deadline: .now() + 3) { [self] in
            lock.lock()
            let left = Array(running.keys)
            lock.unlock()
            for pid in left { kill(pid, SIGKILL) }
        }
    }
}

/// Bytes of a job's output cut into lines as they arrive.
struct LineBuffer {
    private var pending: [UInt8] = []

    /// Hands on every line `data` completes.
    mutating func append(_ data: Data, _ onLine: (String) -> Void) {
        pending += data
        while let newline = pending.firstIndex(of: 0x0A) {
            onLine(String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeSubrange(...newline)
        }
    }

    /// Hands on a last line without a newline.
    mutating func flush(_ onLine: (String) -> Void) {
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
    }
}
