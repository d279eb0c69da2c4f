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
    /// For each stage that ran and declares record reuse, in pipeline order: records its jobs copied from an
    /// earlier artifact and computed (from their `records reused R computed C` lines).
    public var reuse: [(stage: String, counts: ReuseCounts)] = []
    /// Stages that would run (dry run).
    public var wouldRun: [(stage: String, reasons: [String])] = []
    public var interrupted = false

    public var succeeded: Bool { failed.isEmpty && blocked.isEmpty && !interrupted }
}

/// Runs the stale stages of a pipeline in dependency order, independent jobs in parallel, and commits each
/// finished unit into the store: check the manifest, move its files into objects, write the run record last.
/// The caller holds the cache lock. As DVC separates status from repro, the parts are apart: planning what is
/// stale and why (Plan.swift), launching jobs (Launch.swift), committing what they wrote (Commit.swift); this
/// file holds the run loop that ties them together.
public final class Scheduler: @unchecked Sendable {
    public let engine: Engine
    public let executor: JobExecutor
    public let options: RunOptions
    public let display: ProgressDisplay

    /// Guards a run's `RunState` and `cancelled`; job threads signal it as they finish.
    let condition = NSCondition()
    private(set) var cancelled = false

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
        let units: [StageUnit]
        /// Run records by unit key, filled as units turn fresh or get committed.
        var records: [String: RunRecord]
        var openUnits = 0
        var failures: [String] = []
        /// What its jobs reported copying and computing, when any did.
        var reuse: ReuseCounts?
        init(plan: StagePlan) {
            stage = plan.stage
            units = plan.units
            records = plan.fresh
        }
    }

    struct Finished {
        let job: ProcessJob
        let work: UnitWork
        let status: Int32
        let seconds: Double
        /// The job's `records reused R computed C` line, if it wrote one.
        let reuse: ReuseCounts?
    }

    /// Everything one run tracks; read and changed only with `condition` held.
    final class RunState {
        var report = RunReport()
        /// The artifact of each stage done, by name: what its dependents' units are keyed on.
        var artifacts: [String: ArtifactManifest] = [:]
        var works: [String: StageWork] = [:]
        /// Stages not started yet, in pipeline order.
        var pendingStages: [StageSpec]
        var queue: [QueuedJob] = []
        var finished: [Finished] = []
        var runningCount = 0
        init(stages: [StageSpec]) { pendingStages = stages }
    }

    public func run() -> RunReport {
        let wanted = options.until.map { engine.pipeline.ancestors(of: $0) } ?? Set(engine.pipeline.stages.map(\.name))
        let stages = engine.pipeline.stages.filter { wanted.contains($0.name) }
        if options.dryRun { return dryRun(stages) }
        let state = RunState(stages: stages)
        do { try store.createLayout() } catch {
            state.report.failed["(store)"] = "\(error)"
            return state.report
        }
        store.clearTmp()

        condition.lock()
        startReadyStages(state)
        while true {
            if !cancelled { launchQueued(state) }
            if state.runningCount == 0 && (state.queue.isEmpty || cancelled) && state.finished.isEmpty { break }
            while state.finished.isEmpty { condition.wait() }
            let done = state.finished
            state.finished.removeAll()
            for result in done { settle(result, state) }
        }
        condition.unlock()
        display.finish()
        if cancelled {
            state.report.interrupted = true
            store.clearTmp()
        }
        return state.report
    }

    /// Starts every stage whose dependencies are all done: fresh units are taken as they are, the others
    /// become jobs in the queue.
    private func startReadyStages(_ state: RunState) {
        while let i = state.pendingStages.firstIndex(where: { s in s.deps.allSatisfy { state.artifacts[$0] != nil } }) {
            let plan = plan(state.pendingStages.remove(at: i), artifacts: state.artifacts)
            let work = StageWork(plan: plan)
            state.works[plan.stage.name] = work
            if !plan.stale.isEmpty {
                let inputs = plan.inputs.mapValues(engine.located)
                for (unit, _) in plan.stale {
                    do {
                        let unitWork = UnitWork(unit: unit, slices: plan.stage.slices)
                        // A forced stage recomputes everything (that is also how a damaged object is repaired).
                        let earlier = plan.forced ? nil : engine.earlierRun(for: unit)
                        let jobs = try prepareJobs(unitWork, inputs: inputs, reuse: earlier.map { engine.located($0.manifest) })
                        unitWork.jobs = jobs.map(\.process)
                        state.queue += jobs
                        display.addJobs(jobs.count)
                        work.openUnits += 1
                    } catch {
                        work.failures.append("\(unit.label): cannot prepare the job: \(error)")
                    }
                }
            }
            if work.openUnits == 0 { completeStage(work, state) }
        }
    }

    /// Takes in a finished job. When it was its unit's last, the unit is committed (outside the lock); when
    /// that was its stage's last unit, the stage is completed and what waited on it may start.
    private func settle(_ result: Finished, _ state: RunState) {
        state.runningCount -= 1
        let work = result.work
        work.remaining -= 1
        let ok = result.status == 0 && !cancelled
        display.jobFinished(result.job.label, ok: ok, seconds: result.seconds)
        let stageWork = state.works[work.unit.stage.name]!
        if ok, let counts = result.reuse { stageWork.reuse = (stageWork.reuse ?? ReuseCounts()) + counts }
        if !ok {
            work.failures.append(failureText(result))
            // The unit's other slices are pointless now.
            let dropped = state.queue.filter { $0.work === work }.count
            state.queue.removeAll { $0.work === work }
            work.remaining -= dropped
        }
        guard work.remaining == 0 else { return }
        stageWork.openUnits -= 1
        if work.failures.isEmpty {
            condition.unlock()
            let committed = Result { try commit(work) }
            condition.lock()
            switch committed {
            case .success(let record):
                stageWork.records[work.unit.key] = record
                if !state.report.ran.contains(stageWork.stage.name) { state.report.ran.append(stageWork.stage.name) }
            case .failure(let error):
                stageWork.failures.append("\(work.unit.label): \(error)")
            }
        } else {
            stageWork.failures += work.failures
        }
        if stageWork.openUnits == 0 {
            completeStage(stageWork, state)
            if !cancelled { startReadyStages(state) }
        }
    }

    /// A stage whose units are all settled: a failure blocks its descendants; otherwise its artifact is known,
    /// its rejects counted, and its units' key parts kept as its last run (for `why`).
    private func completeStage(_ work: StageWork, _ state: RunState) {
        let stage = work.stage
        if !work.failures.isEmpty {
            state.report.failed[stage.name] = work.failures.joined(separator: "\n")
            let blocked = engine.pipeline.descendants(of: stage.name)
            for name in blocked where state.pendingStages.contains(where: { $0.name == name }) {
                state.report.blocked.append(name)
            }
            state.pendingStages.removeAll { blocked.contains($0.name) }
            return
        }
        let records = work.units.map { work.records[$0.key]! }
        let artifact = engine.artifact(of: stage, records: records)
        state.artifacts[stage.name] = artifact
        let own = artifact.rejects.filter { $0.stage == stage.name }.count
        if own > 0 { state.report.rejects.append((stage.name, own)) }
        if let counts = work.reuse { state.report.reuse.append((stage.name, counts)) }
        if !state.report.ran.contains(stage.name) { state.report.fresh.append(stage.name) }
        let last = work.units.map { Store.LastRun(key: $0.key, parts: $0.parts) }
        if store.lastRun(pipeline: engine.pipeline.file, stage: stage.name) != last {
            try? store.writeLastRun(pipeline: engine.pipeline.file, stage: stage.name, last)
        }
    }
}
