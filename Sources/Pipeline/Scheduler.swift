#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

public struct RunOptions: Sendable {
    /// How many jobs run at once.
    public var jobs: Int
    /// Cores shared among running jobs: each gets `max(1, cores / running jobs)` threads.
    public var cores: Int
    /// Run only this stage and what it needs.
    public var until: String?
    /// Rerun these stages even when fresh.
    public var force: Set<String>
    /// Print what would run, run nothing.
    public var dryRun: Bool

    public init(jobs: Int? = nil, cores: Int = ProcessInfo.processInfo.activeProcessorCount, until: String? = nil,
                force: Set<String> = [], dryRun: Bool = false) {
        self.jobs = max(1, jobs ?? cores)
        self.cores = max(1, cores)
        self.until = until
        self.force = force
        self.dryRun = dryRun
    }
}

/// What a run did, stage by stage.
public struct RunReport: Sendable {
    public var ran: [String] = []
    public var fresh: [String] = []
    /// Failed stage -> the failure (job label, exit status, tail of its log).
    public var failed: [String: String] = [:]
    /// Stages not run because a dependency failed.
    public var blocked: [String] = []
    /// Each stage's own rejects (not those carried from its inputs), in pipeline order, for stages with any.
    public var rejects: [(stage: String, count: Int)] = []
    /// Stages that would run (dry run).
    public var wouldRun: [(stage: String, reasons: [String])] = []
    public var interrupted = false

    public var succeeded: Bool { failed.isEmpty && blocked.isEmpty && !interrupted }
}

/// Runs the stale stages of a pipeline in dependency order, independent jobs in parallel, and commits each
/// finished unit into the store: check the manifest, move its files into objects, write the run record last.
/// The caller holds the cache lock.
public final class Scheduler: @unchecked Sendable {
    public let engine: Engine
    public let executor: JobExecutor
    public let options: RunOptions
    public let display: ProgressDisplay

    private let condition = NSCondition()
    private var cancelled = false

    public init(engine: Engine, executor: JobExecutor, options: RunOptions, display: ProgressDisplay) {
        self.engine = engine
        self.executor = executor
        self.options = options
        self.display = display
    }

    var store: Store { engine.store }

    /// Stops launching jobs and terminates the running ones; `run` returns with `interrupted` set.
    public func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
        executor.terminateAll()
    }

    // MARK: Bookkeeping of one run

    /// A unit being produced: its slice jobs and what they left.
    final class UnitWork {
        let unit: StageUnit
        var jobs: [ProcessJob] = []
        var remaining: Int
        var failures: [String] = []
        var started = ProcessInfo.processInfo.systemUptime
        init(unit: StageUnit, slices: Int) {
            self.unit = unit
            remaining = slices
        }
    }

    final class StageWork {
        let stage: StageSpec
        var units: [StageUnit] = []
        /// Run records by unit key, filled as units turn fresh or get committed.
        var records: [String: RunRecord] = [:]
        var openUnits = 0
        var failures: [String] = []
        init(stage: StageSpec) { self.stage = stage }
    }

    struct Finished {
        let job: ProcessJob
        let work: UnitWork
        let status: Int32
        let seconds: Double
    }

    public func run() -> RunReport {
        var report = RunReport()
        let wanted = options.until.map { engine.pipeline.ancestors(of: $0) } ?? Set(engine.pipeline.stages.map(\.name))
        let stages = engine.pipeline.stages.filter { wanted.contains($0.name) }
        if options.dryRun { return dryRun(stages) }
        do { try store.createLayout() } catch {
            report.failed["(store)"] = "\(error)"
            return report
        }
        store.clearTmp()

        var artifacts: [String: ArtifactManifest] = [:]
        var works: [String: StageWork] = [:]
        var pendingStages = stages
        var queue: [(ProcessJob, UnitWork)] = []
        var finished: [Finished] = []
        var runningCount = 0

        /// Starts every stage whose dependencies are all done: fresh units are taken as they are,
        /// the others become jobs in the queue.
        func startReadyStages() {
            while let i = pendingStages.firstIndex(where: { s in s.deps.allSatisfy { artifacts[$0] != nil } }) {
                let stage = pendingStages.remove(at: i)
                let work = StageWork(stage: stage)
                works[stage.name] = work
                work.units = engine.units(of: stage, inputs: engine.inputs(of: stage, artifacts: artifacts))
                for unit in work.units {
                    if !options.force.contains(stage.name), let record = engine.check(unit).record {
                        work.records[unit.key] = record
                        continue
                    }
                    do {
                        let unitWork = UnitWork(unit: unit, slices: stage.slices)
                        unitWork.jobs = try prepareJobs(unit, inputs: engine.inputs(of: stage, artifacts: artifacts))
                        queue += unitWork.jobs.map { ($0, unitWork) }
                        display.addJobs(unitWork.jobs.count)
                        work.openUnits += 1
                    } catch {
                        work.failures.append("\(unit.label): cannot prepare the job: \(error)")
                    }
                }
                if work.openUnits == 0 { completeStage(work) }
            }
        }

        func completeStage(_ work: StageWork) {
            let stage = work.stage
            if !work.failures.isEmpty {
                report.failed[stage.name] = work.failures.joined(separator: "\n")
                let blocked = engine.pipeline.descendants(of: stage.name)
                for name in blocked where pendingStages.contains(where: { $0.name == name }) {
                    report.blocked.append(name)
                }
                pendingStages.removeAll { blocked.contains($0.name) }
                return
            }
            let records = work.units.map { work.records[$0.key]! }
            let artifact = engine.artifact(of: stage, records: records)
            artifacts[stage.name] = artifact
            let own = artifact.rejects.filter { $0.stage == stage.name }.count
            if own > 0 { report.rejects.append((stage.name, own)) }
            if !report.ran.contains(stage.name) { report.fresh.append(stage.name) }
            let last = work.units.map { Store.LastRun(key: $0.key, parts: $0.parts) }
            if store.lastRun(pipeline: engine.pipeline.file, stage: stage.name) != last {
                try? store.writeLastRun(pipeline: engine.pipeline.file, stage: stage.name, last)
            }
        }

        condition.lock()
        startReadyStages()
        while true {
            // Launch as many queued jobs as allowed, sharing the cores among everything that will be running.
            if !cancelled {
                let launching = min(queue.count, options.jobs - runningCount)
                if launching > 0 {
                    let threads = max(1, options.cores / (runningCount + launching))
                    for _ in 0..<launching {
                        let (job, work) = queue.removeFirst()
                        runningCount += 1
                        launch(job, work: work, threads: threads) { [self] result in
                            condition.lock()
                            finished.append(result)
                            condition.broadcast()
                            condition.unlock()
                        }
                    }
                }
            }
            if runningCount == 0 && (queue.isEmpty || cancelled) && finished.isEmpty { break }
            while finished.isEmpty { condition.wait() }
            let done = finished
            finished.removeAll()
            for result in done {
                runningCount -= 1
                let work = result.work
                work.remaining -= 1
                let ok = result.status == 0 && !cancelled
                display.jobFinished(result.job.label, ok: ok, seconds: result.seconds)
                if !ok {
                    work.failures.append(failureText(result))
                    // The unit's other slices are pointless now.
                    let dropped = queue.filter { $0.1 === work }.count
                    queue.removeAll { $0.1 === work }
                    work.remaining -= dropped
                }
                guard work.remaining == 0 else { continue }
                let stageWork = works[work.unit.stage.name]!
                stageWork.openUnits -= 1
                if work.failures.isEmpty {
                    condition.unlock()
                    let committed = Result { try commit(work) }
                    condition.lock()
                    switch committed {
                    case .success(let record):
                        stageWork.records[work.unit.key] = record
                        if !report.ran.contains(stageWork.stage.name) { report.ran.append(stageWork.stage.name) }
                    case .failure(let error):
                        stageWork.failures.append("\(work.unit.label): \(error)")
                    }
                } else {
                    stageWork.failures += work.failures
                }
                if stageWork.openUnits == 0 {
                    completeStage(stageWork)
                    if !cancelled { startReadyStages() }
                }
            }
        }
        condition.unlock()
        display.finish()
        if cancelled {
            report.interrupted = true
            store.clearTmp()
        }
        return report
    }

    private func failureText(_ result: Finished) -> String {
        let status = result.status > 128 ? "killed by signal \(result.status - 128)" : "exit status \(result.status)"
        let tail = logTail(result.job.logFile, lines: 20)
        return "\(result.job.label) failed (\(status)); log \(result.job.logFile):\n\(tail)"
    }

    /// The last lines of a log, without progress lines.
    func logTail(_ path: String, lines: Int) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log)" }
        let all = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .filter { parseProgressLine(String($0)) == nil }
        return all.suffix(lines).map { "    \($0)" }.joined(separator: "\n")
    }

    // MARK: Jobs

    /// Writes the job files of a unit's slices into fresh directories under tmp/.
    func prepareJobs(_ unit: StageUnit, inputs: [String: ArtifactManifest]) throws -> [ProcessJob] {
        let count = unit.stage.slices
        let located = inputs.mapValues(engine.located)
        return try (0..<count).map { i in
            let dir = "\(store.tmpDirectory)/\(unit.key.prefix(16))-\(i)of\(count)-\(UInt32.random(in: 0...UInt32.max))"
            let output = "\(dir)/out"
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let job = StageJob(stage: unit.stage.name, params: unit.parts.params, inputs: located, output: output,
                               threads: 1, slice: count > 1 ? JobSlice(index: i, count: count) : nil)
            try writeFileAtomically("\(dir)/job.json", job.canonicalJSON)
            let log = count > 1 ? "\(store.logsDirectory)/\(unit.key).\(i).log" : "\(store.logsDirectory)/\(unit.key).log"
            return ProcessJob(label: count > 1 ? "\(unit.label)#\(i + 1)/\(count)" : unit.label,
                              executable: engine.pipeline.executables[unit.stage.name]!, jobFile: "\(dir)/job.json",
                              outputDirectory: output, logFile: log,
                              environment: ["MAMMOFLOW_STAT_CACHE": store.sourceStatCachePath, "MAMMOFLOW_CACHE": store.root,
                                            "MAMMOFLOW_SOURCE_STAMPS": "\(dir)/source-stamps.tsv"],
                              resources: unit.stage.resources)
        }
    }

    /// Runs a job on its own thread: sets its thread budget in job.json, captures its log, feeds progress.
    private func launch(_ job: ProcessJob, work: UnitWork, threads: Int, done: @escaping (Finished) -> Void) {
        display.jobStarted(job.label)
        Thread.detachNewThread { [self] in
            let start = ProcessInfo.processInfo.systemUptime
            var status: Int32 = 1
            do {
                var stageJob = try StageJob(jsonBytes: readFile(job.jobFile))
                stageJob.threads = executor.threads(for: job, share: threads)
                try writeFileAtomically(job.jobFile, stageJob.canonicalJSON)
                _ = FileManager.default.createFile(atPath: job.logFile, contents: nil)
                let log = try FileHandle(forWritingTo: URL(fileURLWithPath: job.logFile))
                status = executor.execute(job) { [display] line in
                    log.write(Data((line + "\n").utf8))
                    if let p = parseProgressLine(line) { display.jobProgress(job.label, done: p.done, total: p.total) }
                }
                try? log.close()
            } catch {
                try? Data("cannot start the job: \(error)\n".utf8).write(to: URL(fileURLWithPath: job.logFile))
            }
            done(Finished(job: job, work: work, status: status, seconds: ProcessInfo.processInfo.systemUptime - start))
        }
    }

    // MARK: Commit

    /// Checks the slices' manifests against the files they name, merges them, moves the files into the
    /// store and writes the run record last. Until that last write nothing of the unit is visible.
    func commit(_ work: UnitWork) throws -> RunRecord {
        let unit = work.unit
        var manifests: [ArtifactManifest] = []
        var manifestBytes: [UInt8] = []
        var stamps = SourceStamps(files: [], folders: [])
        var checked: [SourceStamps.File] = []
        var sourceCache: StatCache?
        for job in work.jobs {
            let manifestPath = "\(job.outputDirectory)/manifest.json"
            guard let bytes = try? readFile(manifestPath) else {
                throw StoreError(reason: "\(job.label) exited 0 but wrote no manifest.json")
            }
            // The stage's source stamps (if it wrote any) are read while the manifest is parsed.
            let stampsPath = job.environment["MAMMOFLOW_SOURCE_STAMPS"].flatMap { access($0, F_OK) == 0 ? $0 : nil }
            var parsed: ArtifactManifest?
            var stampsRead: Result<SourceStamps, Error>?
            try concurrently({
                do { parsed = try ArtifactManifest(jsonFile: bytes, named: manifestPath) } catch {
                    throw StoreError(reason: "\(job.label): \(error)")
                }
            }, {
                guard let stampsPath else { return }
                stampsRead = Result { try SourceStamps.read(stampsPath) }.mapError { StoreError(reason: "\(job.label): \($0)") }
            })
            let manifest = parsed!
            let sources = manifest.files.compactMap(\.source)
            if !sources.isEmpty {
                if let stampsRead {
                    let reported = try checkedStamps(stampsRead.get(), of: job, sources: sources)
                    stamps.files += reported.files
                    stamps.folders += reported.folders
                } else {
                    // The stage stamped nothing: check each source's hash through the stat cache and stamp it here.
                    if sourceCache == nil { sourceCache = StatCache(path: store.sourceStatCachePath) }
                    for file in manifest.files {
                        guard let source = file.source else { continue }
                        let (sha, stamp) = try sourceCache!.sha256(ofFile: source)
                        guard sha == file.sha256 else {
                            throw StoreError(reason: "\(job.label): source \(source) has SHA-256 \(sha), the manifest says \(file.sha256)")
                        }
                        checked.append(SourceStamps.File(path: source, stamp: stamp))
                    }
                }
            }
            for file in manifest.files where file.source == nil {
                let path = "\(job.outputDirectory)/\(file.path)"
                guard let stamp = FileStamp.of(path) else {
                    throw StoreError(reason: "\(job.label): manifest lists \(file.path), which is not in its output")
                }
                guard stamp.size == file.size else {
                    throw StoreError(reason: "\(job.label): \(file.path) is \(stamp.size) bytes, the manifest says \(file.size)")
                }
                let sha = try Digest.sha256Hex(file: path)
                guard sha == file.sha256 else {
                    throw StoreError(reason: "\(job.label): \(file.path) has SHA-256 \(sha), the manifest says \(file.sha256)")
                }
            }
            manifests.append(manifest)
            manifestBytes = bytes
        }
        try? sourceCache?.flush()
        let merged = try mergeSlices(manifests, stage: unit.stage.name)
        for (job, manifest) in zip(work.jobs, manifests) {
            for file in manifest.files where file.source == nil {
                try store.adopt("\(job.outputDirectory)/\(file.path)", sha256: file.sha256)
            }
        }
        if !checked.isEmpty {
            let stamped = SourceStamps(stampingFoldersOf: checked)
            stamps.files += stamped.files
            stamps.folders += stamped.folders
        }
        if work.jobs.count == 1, checked.isEmpty, !stamps.files.isEmpty, let path = work.jobs[0].environment["MAMMOFLOW_SOURCE_STAMPS"] {
            // The stage's own file, checked above, moves into place as it is (the stage wrote it atomically).
            guard rename(path, store.sourcesPath(unit.key)) == 0 else {
                throw StoreError(reason: "cannot move \(path) to \(store.sourcesPath(unit.key)): \(String(cString: strerror(errno)))")
            }
        } else if !stamps.files.isEmpty {
            if work.jobs.count > 1 {
                // Slices may list the same sources: one stamp per path (the first), folders likewise.
                var seen = Set<String>()
                stamps.files = stamps.files.filter { seen.insert($0.path).inserted }
                seen.removeAll()
                stamps.folders = stamps.folders.filter { seen.insert($0.path).inserted }
            }
            try stamps.write(to: store.sourcesPath(unit.key))
        }
        let record = RunRecord(key: unit.key, parts: unit.parts, manifest: merged, stage: unit.stage.name,
                               pipeline: engine.pipeline.file, seconds: ProcessInfo.processInfo.systemUptime - work.started)
        // A single job's manifest, just parsed and checked, goes into the record as the stage wrote it.
        try store.writeRun(record, manifestJSON: work.jobs.count == 1 ? manifestBytes : nil)
        for job in work.jobs {
            try? FileManager.default.removeItem(atPath: (job.outputDirectory as NSString).deletingLastPathComponent)
        }
        return record
    }

    /// The stamps a job wrote to MAMMOFLOW_SOURCE_STAMPS, once checked. The stage stamped each source as it
    /// hashed it (so its hashes need no second check here); the file must stamp exactly the manifest's
    /// sources, or `status` could miss a change.
    func checkedStamps(_ stamps: SourceStamps, of job: ProcessJob, sources: [String]) throws -> SourceStamps {
        let path = job.environment["MAMMOFLOW_SOURCE_STAMPS"] ?? "source stamps"
        // Both lists usually come in path order already; sorting is then a linear pass, and so is comparing.
        let listed = sources.sorted()
        let stamped = stamps.files.map(\.path).sorted()
        guard stamped != listed else { return stamps }
        let missing = Set(listed).subtracting(stamped).sorted().prefix(3)
        let extra = Set(stamped).subtracting(listed).sorted().prefix(3)
        throw StoreError(reason: "\(job.label): \(path) does not stamp exactly the manifest's source files"
            + (missing.isEmpty ? "" : "; not stamped: \(missing.joined(separator: ", "))")
            + (extra.isEmpty ? "" : "; not in the manifest: \(extra.joined(separator: ", "))")
            + (missing.isEmpty && extra.isEmpty ? "; some are stamped twice" : ""))
    }

    /// One artifact from a unit's slices: files united (a path two slices both wrote must have the same
    /// bytes), records summed, rejects without repeats, summaries as `{ "slices": [...] }`.
    func mergeSlices(_ manifests: [ArtifactManifest], stage: String) throws -> ArtifactManifest {
        if manifests.count == 1 { return manifests[0] }
        var files: [String: ArtifactFile] = [:]
        for manifest in manifests {
            for file in manifest.files {
                if let other = files[file.path], other.sha256 != file.sha256 {
                    throw StoreError(reason: "two slices wrote \(file.path) with different contents")
                }
                files[file.path] = file
            }
        }
        return ArtifactManifest(stage: stage, files: Array(files.values), records: manifests.reduce(0) { $0 + $1.records },
                                rejects: uniqueRejects(manifests.flatMap(\.rejects)),
                                summary: .object(["slices": .array(manifests.map(\.summary))]))
    }

    // MARK: Dry run

    private func dryRun(_ stages: [StageSpec]) -> RunReport {
        var report = RunReport()
        var artifacts: [String: ArtifactManifest] = [:]
        for stage in stages {
            guard stage.deps.allSatisfy({ artifacts[$0] != nil }) else {
                report.wouldRun.append((stage.name, ["after its upstream runs"]))
                continue
            }
            let units = engine.units(of: stage, inputs: engine.inputs(of: stage, artifacts: artifacts))
            let checks = units.map(engine.check)
            if options.force.contains(stage.name) {
                report.wouldRun.append((stage.name, ["forced"]))
            } else if checks.allSatisfy({ $0.record != nil }) {
                artifacts[stage.name] = engine.artifact(of: stage, records: checks.map { $0.record! })
                report.fresh.append(stage.name)
            } else {
                report.wouldRun.append((stage.name, checks.flatMap(\.reasons)))
            }
        }
        return report
    }
}

public struct StoreError: Error, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
