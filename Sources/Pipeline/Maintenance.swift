#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// `verify`: rehashes every object; a corrupt one moves to quarantine/, so the runs naming it turn stale
/// and the next `run` rebuilds them.
public struct VerifyReport: Sendable {
    public var checked = 0
    public var bytes = 0
    /// Object id -> what was wrong.
    public var corrupt: [(id: String, reason: String)] = []
    /// Run records that named a quarantined object.
    public var affectedRuns: [String] = []
}

extension Store {
    public func verify(threads: Int = ProcessInfo.processInfo.activeProcessorCount, progress: (Int, Int) -> Void = { _, _ in }) -> VerifyReport {
        var report = VerifyReport()
        let ids = allObjects()
        let lock = NSLock()
        var done = 0
        var bad: [(String, String)] = []
        var bytes = 0
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { worker in
            for i in stride(from: worker, to: ids.count, by: max(1, threads)) {
                let id = ids[i]
                let path = objectPath(id)
                let size = FileStamp.of(path)?.size ?? 0
                let problem: String?
                do {
                    let sha = try Digest.sha256Hex(file: path)
                    problem = sha == id ? nil : "content hashes to \(sha)"
                } catch {
                    problem = "\(error)"
                }
                lock.lock()
                done += 1
                bytes += size
                if let problem { bad.append((id, problem)) }
                progress(done, ids.count)
                lock.unlock()
            }
        }
        report.checked = ids.count
        report.bytes = bytes
        report.corrupt = bad.sorted { $0.0 < $1.0 }
        guard !bad.isEmpty else { return report }
        try? FileManager.default.createDirectory(atPath: quarantineDirectory, withIntermediateDirectories: true)
        let badIDs = Set(bad.map(\.0))
        for id in badIDs {
            rename(objectPath(id), "\(quarantineDirectory)/\(id)")
        }
        for key in allRunKeys() {
            if let record = readRun(key), record.manifest.files.contains(where: { $0.source == nil && badIDs.contains($0.sha256) }) {
                report.affectedRuns.append("\(record.stage) (\(key.prefix(12)))")
            }
        }
        return report
    }

    /// The keys of the runs each pipeline file's stages were last run with (`last/`), overrides (`--set`)
    /// included: what a user made last, kept by `gc` whether or not a pipeline file still yields those keys.
    public func lastRunKeys() -> Set<String> {
        let fm = FileManager.default
        var keys = Set<String>()
        for pipeline in (try? fm.contentsOfDirectory(atPath: lastDirectory)) ?? [] {
            let folder = "\(lastDirectory)/\(pipeline)"
            for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".json") {
                guard let data = fm.contents(atPath: "\(folder)/\(name)"),
                      let runs = try? JSONDecoder().decode([LastRun].self, from: data) else { continue }
                keys.formUnion(runs.map(\.key))
            }
        }
        return keys
    }

    /// `gc`: objects and run records that no kept run references. `live` are the run keys to keep (the
    /// current pipelines' fresh units, Engine.liveRunKeys, and `lastRunKeys`); nothing is deleted unless `apply`.
    public func collectGarbage(live: Set<String>, apply: Bool) -> (objects: [String], runs: [String], bytes: Int) {
        var referenced = Set<String>()
        for key in live {
            for file in readRun(key)?.manifest.files ?? [] where file.source == nil { referenced.insert(file.sha256) }
        }
        let deadRuns = allRunKeys().filter { !live.contains($0) }
        let deadObjects = allObjects().filter { !referenced.contains($0) }
        let bytes = deadObjects.reduce(0) { $0 + (FileStamp.of(objectPath($1))?.size ?? 0) }
        if apply {
            for key in deadRuns { deleteRun(key) }
            for id in deadObjects { unlink(objectPath(id)) }
        }
        return (deadObjects, deadRuns, bytes)
    }
}

extension Engine {
    /// The run keys of every fresh unit of this pipeline: what `gc` keeps.
    public func liveRunKeys() -> Set<String> {
        var keys = Set<String>()
        for (_, state) in states() {
            if case .fresh(_, let records) = state { keys.formUnion(records.map(\.key)) }
        }
        return keys
    }
}
