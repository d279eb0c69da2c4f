#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// What a command printed and how it exited.
public struct CommandOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs one Slurm client command (`sbatch`, `squeue`, `scontrol`, `scancel`) with its arguments. Tests give
/// the executor a simulated cluster through this; `runOnPath` runs the real tools.
public typealias SlurmCommandRunner = @Sendable (_ tool: String, _ arguments: [String]) -> CommandOutput

/// Runs `tool` found on PATH (as `env` finds it), in this process's environment (so SLURM_CONF reaches it).
public func runOnPath(_ tool: String, _ arguments: [String]) -> CommandOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    process.standardInput = FileHandle.nullDevice
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let exit: ProcessExit
    do { exit = try process.start() } catch {
        return CommandOutput(status: 127, stdout: "", stderr: "cannot start \(tool): \(error)")
    }
    // stderr is drained on another thread so that neither pipe can fill up and stall the command.
    final class Drained: @unchecked Sendable { var data = Data() }
    let errorData = Drained()
    let drained = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        errorData.data = err.fileHandleForReading.readDataToEndOfFile()
        drained.signal()
    }
    let outputData = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    exit.wait()
    return CommandOutput(status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                         stderr: String(decoding: errorData.data, as: UTF8.self))
}

/// Runs each job as a Slurm batch job: `sbatch` of a wrapper script (SlurmSubmission), then one poller
/// for all of this run's jobs asks `squeue` for their states (and `scontrol show job` for how a job ended:
/// `sacct` needs slurmdbd, which a small cluster often lacks), while each job's thread follows its output
/// file into its log. The scheduler commits what a job wrote exactly as it does for a local process, so the
/// cache cannot tell the two apart; it must be on a file system every node mounts (docs/scale-out.md).
public final class SlurmExecutor: JobExecutor, @unchecked Sendable {
    public let spec: ExecutorSpec
    private let runCommand: SlurmCommandRunner
    private let pollInterval: Double
    private let unreachableLimit: Double
    private let stateChanged: @Sendable (_ label: String, _ state: String) -> Void

    private final class Tracked {
        let label: String
        var state: SlurmJobState?
        /// Set once the job has ended: the exit status to report and a note on how Slurm ended it.
        var ended: (status: Int32, note: String?)?
        /// Consecutive polls in which neither squeue nor scontrol knew the job.
        var unknownPolls = 0
        init(label: String) { self.label = label }
    }

    private let condition = NSCondition()
    private var tracked: [String: Tracked] = [:]
    private var terminating = false
    private var polling = false

    /// - Parameters:
    ///   - pollInterval: seconds between two `squeue` calls (one call covers every job of the run).
    ///   - unreachableLimit: how long `squeue` may keep failing (slurmctld down or busy) before the jobs are
    ///     given up as failed.
    ///   - stateChanged: hears each job's state as it changes until it ends (PENDING, RUNNING, COMPLETING,
    ///     ...), for the progress line.
    public init(spec: ExecutorSpec, pollInterval: Double = 1, unreachableLimit: Double = 300,
                runCommand: @escaping SlurmCommandRunner = { runOnPath($0, $1) },
                stateChanged: @escaping @Sendable (String, String) -> Void = { _, _ in }) {
        self.spec = spec
        self.pollInterval = pollInterval
        self.unreachableLimit = unreachableLimit
        self.runCommand = runCommand
        self.stateChanged = stateChanged
    }

    /// A job uses the CPUs Slurm allocated to it, not a share of this machine's cores.
    public func threads(for job: ProcessJob, share: Int) -> Int { job.resources.cpus ?? 1 }

    public func execute(_ job: ProcessJob, onLine: @escaping (String) -> Void) -> Int32 {
        let submission = SlurmSubmission(job: job, executor: spec)
        do {
            try writeFileAtomically(submission.scriptPath, Array(submission.script.utf8))
            chmod(submission.scriptPath, 0o755)
        } catch {
            onLine("cannot write the Slurm script: \(error)")
            return 1
        }
        condition.lock()
        let stopped = terminating
        condition.unlock()
        if stopped { return 128 + SIGTERM }

        let answer = runCommand("sbatch", submission.arguments)
        guard answer.status == 0, let id = parseSbatchJobID(answer.stdout) else {
            onLine("sbatch \(submission.arguments.joined(separator: " ")) failed (exit status \(answer.status)):")
            for line in (answer.stderr + answer.stdout).split(whereSeparator: \.isNewline) { onLine("    \(line)") }
            return answer.status == 0 ? 1 : answer.status
        }
        onLine("slurm: submitted as job \(id) (\(submission.scriptPath))")
        let entry = Tracked(label: job.label)
        condition.lock()
        tracked[id] = entry
        // Ctrl-C may have come while sbatch ran: this job was not there to be cancelled.
        let cancelNow = terminating
        if !polling {
            polling = true
            Thread.detachNewThread { [self] in poll() }
        }
        condition.unlock()
        if cancelNow { _ = runCommand("scancel", [id]) }

        var follower = OutputFollower(path: submission.outputPath)
        condition.lock()
        while entry.ended == nil {
            _ = condition.wait(until: Date(timeIntervalSinceNow: pollInterval))
            condition.unlock()
            follower.readNew(into: onLine)
            condition.lock()
        }
        let ended = entry.ended!
        tracked[id] = nil
        condition.unlock()
        follower.readNew(into: onLine)
        follower.flush(into: onLine)
        if let note = ended.note { onLine(note) }
        return ended.status
    }

    /// Cancels every job of the run with one `scancel`; their threads return when Slurm reports them ended.
    public func terminateAll() {
        condition.lock()
        terminating = true
        let ids = tracked.filter { $0.value.ended == nil }.map(\.key).sorted()
        condition.unlock()
        if !ids.isEmpty { _ = runCommand("scancel", ids) }
    }

    /// The poller: while jobs are tracked, one `squeue` for all of them per interval; a job squeue shows as
    /// ended, or no longer shows, is looked up with `scontrol show job` for its final state and exit code.
    private func poll() {
        var lastAnswer = ProcessInfo.processInfo.systemUptime
        while true {
            condition.lock()
            let ids = tracked.filter { $0.value.ended == nil }.map(\.key).sorted()
            if ids.isEmpty {
                polling = false
                condition.unlock()
                return
            }
            condition.unlock()

            let answer = runCommand("squeue", ["--noheader", "--states=all", "--format=\(SqueueRow.format)", "--jobs=\(ids.joined(separator: ","))"])
            // squeue fails outright when none of the ids is known any more; scontrol settles those below.
            let reachable = answer.status == 0 || answer.stderr.contains("Invalid job id")
            var updates: [String: (state: SlurmJobState?, ended: (Int32, String?)?, unknown: Bool)] = [:]
            if reachable {
                lastAnswer = ProcessInfo.processInfo.systemUptime
                let rows = Dictionary(SqueueRow.parse(answer.stdout).map { ($0.jobID, $0) }, uniquingKeysWith: { a, _ in a })
                for id in ids {
                    if let row = rows[id], !row.state.isFinal {
                        updates[id] = (row.state, nil, false)
                        continue
                    }
                    let shown = runCommand("scontrol", ["show", "job", "-o", id])
                    let fields = shown.status == 0 ? parseScontrolJob(shown.stdout) : [:]
                    guard let stateName = fields["JobState"] ?? rows[id]?.state.name else {
                        updates[id] = (nil, nil, true)
                        continue
                    }
                    let state = SlurmJobState(stateName)
                    let ended = state.isFinal
                        ? (state.exitStatus(exitCode: parseExitCode(fields["ExitCode"])), state.endNote(jobID: id, fields: fields))
                        : nil
                    updates[id] = (state, ended, false)
                }
            } else if ProcessInfo.processInfo.systemUptime - lastAnswer > unreachableLimit {
                let reason = answer.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                for id in ids {
                    updates[id] = (nil, (1, "slurm: squeue has failed for \(Int(unreachableLimit)) s, giving up on job \(id): \(reason)"), false)
                }
            }

            var changes: [(String, String)] = []
            condition.lock()
            for (id, update) in updates {
                guard let entry = tracked[id] else { continue }
                if update.unknown {
                    entry.unknownPolls += 1
                    // A job Slurm has forgotten (MinJobAge passed, or the controller lost its state).
                    if entry.unknownPolls >= 3 {
                        entry.ended = (1, "slurm: job \(id) is no longer known to squeue or scontrol; its outcome is unknown")
                    }
                    continue
                }
                entry.unknownPolls = 0
                // Final states are left to the job's end (done, or FAILED with its log).
                if let state = update.state, state != entry.state, !state.isFinal {
                    entry.state = state
                    changes.append((entry.label, state.name))
                }
                if let ended = update.ended { entry.ended = ended }
            }
            condition.broadcast()
            condition.unlock()
            for (label, state) in changes { stateChanged(label, state) }
            usleep(UInt32(pollInterval * 1e6))
        }
    }
}

/// Follows a file another machine appends to (a Slurm job's output): each read reopens it, which on NFS
/// fetches fresh attributes and data (close-to-open consistency), and hands on the complete lines added.
struct OutputFollower {
    let path: String
    private var offset: UInt64 = 0
    private var lines = LineBuffer()

    init(path: String) { self.path = path }

    mutating func readNew(into onLine: (String) -> Void) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return }
        offset += UInt64(data.count)
        lines.append(data, onLine)
    }

    /// Hands on a last line without a newline.
    mutating func flush(into onLine: (String) -> Void) { lines.flush(onLine) }
}
