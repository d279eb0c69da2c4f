import Foundation
import Shards

/// A job prepared but not started. Its `job.json` is written once, when it starts, because only then is its
/// thread budget known (the cores shared among the jobs running at that moment).
struct QueuedJob {
    let process: ProcessJob
    let stageJob: StageJob
    let work: Scheduler.UnitWork
}

extension Scheduler {
    /// The jobs of a unit's slices, each with a fresh directory under tmp/. `reuse`: the earlier artifact the
    /// jobs may copy unchanged records from (docs/stage-contract.md, "Record reuse").
    func prepareJobs(_ work: UnitWork, inputs located: [String: ArtifactManifest], reuse: ArtifactManifest?) throws -> [QueuedJob] {
        let unit = work.unit
        let count = unit.stage.slices
        return try (0..<count).map { i in
            let dir = "\(store.tmpDirectory)/\(unit.key.prefix(16))-\(i)of\(count)-\(UInt32.random(in: 0...UInt32.max))"
            let output = "\(dir)/out"
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let job = StageJob(stage: unit.stage.name, params: unit.parts.params, inputs: located, output: output,
                               threads: 1, slice: count > 1 ? JobSlice(index: i, count: count) : nil, reuse: reuse)
            let log = count > 1 ? "\(store.logsDirectory)/\(unit.key).\(i).log" : "\(store.logsDirectory)/\(unit.key).log"
            let process = ProcessJob(label: count > 1 ? "\(unit.label)#\(i + 1)/\(count)" : unit.label,
                                     executable: engine.pipeline.executables[unit.stage.name]!, jobFile: "\(dir)/job.json",
                                     outputDirectory: output, logFile: log,
                                     environment: ["MAMMOFLOW_STAT_CACHE": store.sourceStatCachePath, "MAMMOFLOW_CACHE": store.root,
                                                   "MAMMOFLOW_SOURCE_STAMPS": "\(dir)/source-stamps.tsv"],
                                     resources: unit.stage.resources)
            return QueuedJob(process: process, stageJob: job, work: work)
        }
    }

    /// Starts as many queued jobs as `-j` allows, sharing the cores among everything that will be running.
    func launchQueued(_ state: RunState) {
        let launching = min(state.queue.count, options.jobs - state.runningCount)
        guard launching > 0 else { return }
        let threads = max(1, options.cores / (state.runningCount + launching))
        for _ in 0..<launching {
            let queued = state.queue.removeFirst()
            state.runningCount += 1
            launch(queued, threads: threads) { [self] result in
                condition.lock()
                state.finished.append(result)
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Runs a job on its own thread: writes its job.json with its thread budget, captures its log, feeds progress.
    private func launch(_ queued: QueuedJob, threads: Int, done: @escaping (Finished) -> Void) {
        let job = queued.process
        display.jobStarted(job.label)
        Thread.detachNewThread { [self] in
            let start = ProcessInfo.processInfo.systemUptime
            var status: Int32 = 1
            var reuse: ReuseCounts?
            do {
                var stageJob = queued.stageJob
                stageJob.threads = executor.threads(for: job, share: threads)
                try writeFileAtomically(job.jobFile, stageJob.canonicalJSON)
                _ = FileManager.default.createFile(atPath: job.logFile, contents: nil)
                let log = try FileHandle(forWritingTo: URL(fileURLWithPath: job.logFile))
                status = executor.execute(job) { [display] line in
                    log.write(Data((line + "\n").utf8))
                    if let p = parseProgressLine(line) { display.jobProgress(job.label, done: p.done, total: p.total) }
                    if let counts = ReuseCounts(reportLine: line) { reuse = counts }
                }
                try? log.close()
            } catch {
                try? Data("cannot start the job: \(error)\n".utf8).write(to: URL(fileURLWithPath: job.logFile))
            }
            done(Finished(job: job, work: queued.work, status: status, seconds: ProcessInfo.processInfo.systemUptime - start,
                          reuse: reuse))
        }
    }

    func failureText(_ result: Finished) -> String {
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
}
