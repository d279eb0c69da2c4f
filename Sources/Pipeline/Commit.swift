#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// What checking a unit's slices gathered, for the commit that follows.
struct CheckedSlices {
    var manifests: [ArtifactManifest] = []
    /// The last slice's manifest as the stage wrote it (the run record's manifest when there is one slice).
    var manifestBytes: [UInt8] = []
    /// The stamps the slices wrote themselves, checked against their manifests.
    var stamps = SourceStamps(files: [], folders: [])
    /// The sources of slices that stamped nothing, hashed and stamped here.
    var checked: [SourceStamps.File] = []
}

extension Scheduler {
    /// Checks the slices' manifests against the files they name, merges them, moves the files into the
    /// store and writes the run record last. Until that last write nothing of the unit is visible.
    func commit(_ work: UnitWork) throws -> RunRecord {
        let unit = work.unit
        var slices = CheckedSlices()
        var sourceCache: StatCache?
        for job in work.jobs { try checkSlice(job, into: &slices, sourceCache: &sourceCache) }
        try? sourceCache?.flush()
        let merged = try mergeSlices(slices.manifests, stage: unit.stage.name)
        for (job, manifest) in zip(work.jobs, slices.manifests) {
            for file in manifest.files where file.source == nil {
                try store.adopt("\(job.outputDirectory)/\(file.path)", sha256: file.sha256)
            }
        }
        try writeSourceStamps(slices, of: work)
        let record = RunRecord(key: unit.key, parts: unit.parts, manifest: merged, stage: unit.stage.name,
                               pipeline: engine.pipeline.file, seconds: ProcessInfo.processInfo.systemUptime - work.started)
        // A single job's manifest, just parsed and checked, goes into the record as the stage wrote it.
        try store.writeRun(record, manifestJSON: work.jobs.count == 1 ? slices.manifestBytes : nil)
        // The next run of the same recipe copies unchanged records from this one. Losing that note costs
        // recomputation only, never a wrong byte.
        if engine.reusingStages.contains(unit.stage.name) { try? store.rememberRecipe(of: unit.parts, key: unit.key) }
        for job in work.jobs {
            try? FileManager.default.removeItem(atPath: (job.outputDirectory as NSString).deletingLastPathComponent)
        }
        return record
    }

    /// Reads one slice's manifest (and the source stamps it wrote, at the same time) and checks its source
    /// and output files against it.
    func checkSlice(_ job: ProcessJob, into slices: inout CheckedSlices, sourceCache: inout StatCache?) throws {
        let manifestPath = "\(job.outputDirectory)/manifest.json"
        guard let bytes = try? readFile(manifestPath) else {
            throw StoreError(subject: job.label, reason: "exited 0 but wrote no manifest.json")
        }
        let stampsPath = job.environment["MAMMOFLOW_SOURCE_STAMPS"].flatMap { access($0, F_OK) == 0 ? $0 : nil }
        var parsed: ArtifactManifest?
        var stampsRead: Result<SourceStamps, Error>?
        try concurrently({
            do { parsed = try ArtifactManifest(jsonFile: bytes, named: manifestPath) } catch {
                throw StoreError(subject: job.label, reason: "\(error)")
            }
        }, {
            guard let stampsPath else { return }
            stampsRead = Result { try SourceStamps.read(stampsPath) }.mapError { StoreError(subject: job.label, reason: "\($0)") }
        })
        let manifest = parsed!
        let sources = manifest.files.compactMap(\.source)
        if !sources.isEmpty {
            if let stampsRead {
                let reported = try checkedStamps(stampsRead.get(), of: job, sources: sources)
                slices.stamps.files += reported.files
                slices.stamps.folders += reported.folders
            } else {
                if sourceCache == nil { sourceCache = StatCache(path: store.sourceStatCachePath) }
                slices.checked += try checkSources(of: manifest, job: job, through: sourceCache!)
            }
        }
        try checkOutputFiles(of: manifest, job: job)
        slices.manifests.append(manifest)
        slices.manifestBytes = bytes
    }

    /// The stage stamped nothing: each source's hash is checked through the stat cache, and stamped here.
    func checkSources(of manifest: ArtifactManifest, job: ProcessJob, through cache: StatCache) throws -> [SourceStamps.File] {
        try manifest.files.compactMap { file in
            guard let source = file.source else { return nil }
            let (sha, stamp) = try cache.sha256(ofFile: source)
            guard sha == file.sha256 else {
                throw StoreError(subject: job.label, reason: "source \(source) has SHA-256 \(sha), the manifest says \(file.sha256)")
            }
            return SourceStamps.File(path: source, stamp: stamp)
        }
    }

    /// Every file the manifest lists in the job's output is there, with the size and SHA-256 it says, hashed
    /// on every core. A shard a stage linked from an earlier run (`ShardSequenceWriter`) is the store's object
    /// itself: this hash is its check, and a damaged one fails the unit here.
    func checkOutputFiles(of manifest: ArtifactManifest, job: ProcessJob) throws {
        let files = manifest.files.filter { $0.source == nil }
        try orderedParallelMap(count: files.count, threads: ProcessInfo.processInfo.activeProcessorCount, work: { i -> StoreError? in
            let file = files[i], path = "\(job.outputDirectory)/\(file.path)"
            guard let stamp = FileStamp.of(path) else {
                return StoreError(subject: job.label, reason: "manifest lists \(file.path), which is not in its output")
            }
            guard stamp.size == file.size else {
                return StoreError(subject: job.label, reason: "\(file.path) is \(stamp.size) bytes, the manifest says \(file.size)")
            }
            do {
                let sha = try Digest.sha256Hex(file: path)
                guard sha == file.sha256 else {
                    // The same file as the store's object of that name: a shard linked from an earlier run.
                    let linked = FileStamp.of(self.store.objectPath(file.sha256))?.inode == stamp.inode
                        ? " (a store object linked from an earlier run, damaged: run `mammoflow verify`, then run again)" : ""
                    return StoreError(subject: job.label, reason: "\(file.path) has SHA-256 \(sha), the manifest says \(file.sha256)\(linked)")
                }
            } catch { return StoreError(subject: job.label, reason: "\(error)") }
            return nil
        }, consume: { _, error in if let error { throw error } })
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
        throw StoreError(subject: job.label, reason: "\(path) does not stamp exactly the manifest's source files"
            + (missing.isEmpty ? "" : "; not stamped: \(missing.joined(separator: ", "))")
            + (extra.isEmpty ? "" : "; not in the manifest: \(extra.joined(separator: ", "))")
            + (missing.isEmpty && extra.isEmpty ? "; some are stamped twice" : ""))
    }

    /// Writes `runs/<key>.sources` when the unit has source files: a single job's own stamps file moves into
    /// place as it is; otherwise the slices' stamps and those made here are written together.
    func writeSourceStamps(_ slices: CheckedSlices, of work: UnitWork) throws {
        let target = store.sourcesPath(work.unit.key)
        var stamps = slices.stamps
        if !slices.checked.isEmpty {
            let stamped = SourceStamps(stampingFoldersOf: slices.checked)
            stamps.files += stamped.files
            stamps.folders += stamped.folders
        }
        if work.jobs.count == 1, slices.checked.isEmpty, !stamps.files.isEmpty, let path = work.jobs[0].environment["MAMMOFLOW_SOURCE_STAMPS"] {
            // The stage's own file, checked above, moves into place as it is (the stage wrote it atomically).
            guard rename(path, target) == 0 else {
                throw StoreError(subject: path, reason: "cannot move it to \(target): \(String(cString: strerror(errno)))")
            }
        } else if !stamps.files.isEmpty {
            if work.jobs.count > 1 {
                // Slices may list the same sources: one stamp per path (the first), folders likewise.
                var seen = Set<String>()
                stamps.files = stamps.files.filter { seen.insert($0.path).inserted }
                seen.removeAll()
                stamps.folders = stamps.folders.filter { seen.insert($0.path).inserted }
            }
            try stamps.write(to: target)
        }
    }

    /// One artifact from a unit's slices: files united (a path two slices both wrote must have the same
    /// bytes), records summed, rejects without repeats, summaries as `{ "slices": [...] }`.
    func mergeSlices(_ manifests: [ArtifactManifest], stage: String) throws -> ArtifactManifest {
        if manifests.count == 1 { return manifests[0] }
        var files: [String: ArtifactFile] = [:]
        for manifest in manifests {
            for file in manifest.files {
                if let other = files[file.path], other.sha256 != file.sha256 {
                    throw StoreError(subject: file.path, reason: "two slices wrote it with different contents")
                }
                files[file.path] = file
            }
        }
        return ArtifactManifest(stage: stage, files: Array(files.values), records: manifests.reduce(0) { $0 + $1.records },
                                rejects: uniqueRejects(manifests.flatMap(\.rejects)),
                                summary: .object(["slices": .array(manifests.map(\.summary))]))
    }
}

/// A unit that cannot be committed: what its jobs wrote does not agree with their manifests, or cannot be moved.
public struct StoreError: SubjectReasonError {
    /// The job, or the file, that failed the check.
    public let subject: String
    public let reason: String
    public init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }
}
