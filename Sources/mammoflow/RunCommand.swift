#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Pipeline

extension ExecutorKind: ExpressibleByArgument {}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the stale stages of a pipeline (fresh ones are taken from the cache).",
        discussion: "Independent jobs run in parallel; each job's output goes to cache/logs/<key>.log. A failed stage stops its dependents, the others finish, and the exit status is 1."
    )

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    @Option(name: .customShort("j", allowingJoined: true), help: "Jobs to run at once (default: the number of cores; with --executor slurm, jobs in Slurm's queue at once, default 100).")
    var j: Int?

    @Option(help: "Where jobs run: local (child processes) or slurm (sbatch; see docs/scale-out.md). Default: the pipeline file's executor.kind, else local.")
    var executor: ExecutorKind?

    @Option(help: "Run only this stage and the stages it needs.")
    var until: String?

    @Option(help: "Rerun this stage even if it is fresh (repeatable).")
    var force: [String] = []

    @Flag(help: "Print what would run and why, run nothing.")
    var dryRun = false

    func run() throws {
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        for name in force + [until].compactMap({ $0 }) where engine.pipeline.stage(name) == nil {
            throw ValidationError("no stage '\(name)' in \(pipeline.file); stages: \(engine.pipeline.stages.map(\.name).joined(separator: ", "))")
        }
        var executorSpec = engine.pipeline.executor
        if let executor { executorSpec.kind = executor }
        let display = ProgressDisplay()
        let jobExecutor: JobExecutor
        var options = RunOptions(jobs: j, until: until, force: Set(force), dryRun: dryRun)
        switch executorSpec.kind {
        case .local:
            jobExecutor = ProcessExecutor()
        case .slurm:
            jobExecutor = SlurmExecutor(spec: executorSpec, stateChanged: { display.jobState($0, $1) })
            options.jobs = max(1, j ?? 100)
            if !dryRun { warnIfCacheIsNotShared(engine.store.root) }
        }
        let scheduler = Scheduler(engine: engine, executor: jobExecutor, options: options, display: display)
        if dryRun {
            let report = scheduler.run()
            for name in report.fresh { print("fresh  \(name)") }
            for (name, reasons) in report.wouldRun { print("run    \(name): \(reasons.joined(separator: "; "))") }
            return
        }
        let lock = try cacheOptions.lock(command: CommandLine.arguments.joined(separator: " "))
        defer { lock.release() }
        let signals = SignalTrap { scheduler.cancel() }
        let started = Date()
        let report = scheduler.run()
        signals.restore()
        if report.interrupted {
            printError("mammoflow: interrupted; running jobs were stopped, nothing half-written was kept")
            throw ExitCode(130)
        }
        for (stage, failure) in report.failed.sorted(by: { $0.key < $1.key }) {
            printError("\nstage \(stage) failed: \(failure)")
        }
        if !report.blocked.isEmpty { printError("not run because a dependency failed: \(report.blocked.joined(separator: ", "))") }
        let seconds = Date().timeIntervalSince(started)
        printError("ran \(report.ran.count), fresh \(report.fresh.count), failed \(report.failed.count) (\(String(format: "%.2f", seconds)) s)")
        for (stage, counts) in report.reuse { printError("\(stage): \(counts.doneText)") }
        for (stage, count) in report.rejects {
            printError("\(stage): \(count) reject\(count == 1 ? "" : "s"); list: \(pipeline.hint("show \(stage)", cache: cacheOptions)) --rejects")
        }
        if !report.succeeded { throw ExitCode(1) }
    }
}

/// Turns SIGINT and SIGTERM into a call to `handler` (on a dispatch queue) for the duration of a run.
final class SignalTrap {
    private var sources: [DispatchSourceSignal] = []

    init(_ handler: @escaping () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }

    func restore() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Says what in the cache's mount keeps Slurm jobs on other nodes from sharing it (docs/scale-out.md).
func warnIfCacheIsNotShared(_ cache: String) {
    let resolved = (try? FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true))
        .flatMap { _ in realpath(cache, nil) }.map { pointer in defer { free(pointer) }; return String(cString: pointer) } ?? cache
    guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8),
          let mount = MountEntry.containing(resolved, mounts: mounts) else { return }
    for warning in mount.sharedCacheWarnings(cache: cache) { printError("mammoflow: note: \(warning)") }
}
