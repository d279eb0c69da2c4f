#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// The artifact store under one cache directory (docs/architecture.md):
///
///     objects/ab/<sha256>     content-addressed files (a shard's name is already its SHA-256)
///     runs/<key>.json         run records: key parts + merged manifest, written last = the commit
///     runs/<key>.sources      stamps of the source files a run read from outside the store
///     last/<pipeline>/<stage>.json   key parts of the last run of each stage of each pipeline file (for `why`)
///     tmp/                    job directories of running jobs (emptied by the next run)
///     logs/<key>.log          each job's stderr
///     state/                  stat caches: executables.tsv, sources.tsv
///     recipes/<recipe>        key of the newest run of each recipe of a stage that reuses records (RecordReuse.swift)
///     quarantine/             objects `verify` found corrupt
///     lock                    who runs on this cache
public struct Store: Sendable {
    public let root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var objectsDirectory: String { "\(root)/objects" }
    public var runsDirectory: String { "\(root)/runs" }
    public var tmpDirectory: String { "\(root)/tmp" }
    public var logsDirectory: String { "\(root)/logs" }
    public var quarantineDirectory: String { "\(root)/quarantine" }
    public var lastDirectory: String { "\(root)/last" }
    public var lockPath: String { "\(root)/lock" }
    /// Stat cache of stage executables (small: loaded by every command).
    public var executableStatCachePath: String { "\(root)/state/executables.tsv" }
    /// Stat cache of source datasets, shared with the ingest stage through MAMMOFLOW_STAT_CACHE.
    public var sourceStatCachePath: String { "\(root)/state/sources.tsv" }

    public func createLayout() throws {
        for dir in [objectsDirectory, runsDirectory, tmpDirectory, logsDirectory, lastDirectory, "\(root)/state"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    // MARK: Objects

    public func objectPath(_ sha256: String) -> String {
        "\(objectsDirectory)/\(sha256.prefix(2))/\(sha256)"
    }

    public func hasObject(_ sha256: String) -> Bool {
        access(objectPath(sha256), F_OK) == 0
    }

    /// Moves a verified file into the store by rename (same file system: atomic). An object already there
    /// should hold the same bytes, but may have been damaged since it was stored; the new copy was just
    /// checked against its name, so it replaces the old one (readers holding the old one keep its inode).
    /// That is how `run --force` repairs a damaged object.
    public func adopt(_ path: String, sha256: String) throws {
        let target = objectPath(sha256)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard rename(path, target) == 0 else {
            throw FileError(path: path, reason: "cannot move into the store as \(target): \(String(cString: strerror(errno)))")
        }
        // Objects are immutable: drop write permission so a stage cannot edit one through its location.
        chmod(target, 0o444)
    }

    /// Every object id in the store.
    public func allObjects() -> [String] {
        let fm = FileManager.default
        var ids: [String] = []
        for prefix in (try? fm.contentsOfDirectory(atPath: objectsDirectory)) ?? [] {
            for name in (try? fm.contentsOfDirectory(atPath: "\(objectsDirectory)/\(prefix)")) ?? [] where name.count == 64 {
                ids.append(name)
            }
        }
        return ids.sorted()
    }

    // MARK: Runs

    public func runPath(_ key: String) -> String { "\(runsDirectory)/\(key).json" }
    public func sourcesPath(_ key: String) -> String { "\(runsDirectory)/\(key).sources" }

    public func readRun(_ key: String) -> RunRecord? {
        guard let bytes = try? readFile(runPath(key)) else { return nil }
        return try? RunRecord(jsonBytes: bytes)
    }

    /// The commit point of a run: written last, atomically.
    /// `manifestJSON`: the record's manifest as JSON text already at hand (it must parse to `record.manifest`),
    /// spliced in instead of encoding 54,706 files again.
    public func writeRun(_ record: RunRecord, manifestJSON: [UInt8]? = nil) throws {
        var bytes: [UInt8] = []
        record.writeJSON(into: &bytes, manifestJSON: manifestJSON)
        try writeFileAtomically(runPath(record.key), bytes)
    }

    public func deleteRun(_ key: String) {
        unlink(runPath(key))
        unlink(sourcesPath(key))
    }

    public func allRunKeys() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: runsDirectory)) ?? [])
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }
            .sorted()
    }

    /// Why a run record can no longer be trusted: objects it names that are gone, source files that changed.
    /// Empty when the run is intact. Costs one `stat` per object and per source file.
    public func problems(of record: RunRecord) -> [String] {
        var out: [String] = []
        for file in record.manifest.files where file.source == nil && !hasObject(file.sha256) {
            out.append("object \(file.sha256.prefix(12)) (\(file.path)) is missing")
            if out.count >= 3 { return out }
        }
        if record.manifest.files.contains(where: { $0.source != nil }) {
            out += SourceStamps.changes(at: sourcesPath(record.key), limit: 3)
        }
        return out
    }

    // MARK: Last runs, for `why`

    /// One job of a stage in its last run: its key and key parts (a `foreach` stage has one per value).
    public struct LastRun: Codable, Sendable, Equatable {
        public var key: String
        public var parts: KeyParts
    }

    func lastPath(pipeline: String, stage: String) -> String {
        let absolute = URL(fileURLWithPath: pipeline).standardizedFileURL.path
        let name = URL(fileURLWithPath: pipeline).deletingPathExtension().lastPathComponent
        return "\(lastDirectory)/\(name)-\(Digest.sha256Hex(absolute).prefix(8))/\(stage).json"
    }

    public func lastRun(pipeline: String, stage: String) -> [LastRun]? {
        guard let data = FileManager.default.contents(atPath: lastPath(pipeline: pipeline, stage: stage)) else { return nil }
        return try? JSONDecoder().decode([LastRun].self, from: data)
    }

    public func writeLastRun(pipeline: String, stage: String, _ runs: [LastRun]) throws {
        let path = lastPath(pipeline: pipeline, stage: stage)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Informative only (for `why`), so no fsync: a rename keeps it whole, and losing it loses nothing.
        let temp = "\(path).tmp-\(getpid())"
        try encoder.encode(runs).write(to: URL(fileURLWithPath: temp))
        guard rename(temp, path) == 0 else { throw FileError(path: path, reason: "cannot rename \(temp) into place") }
    }

    /// Removes job directories left by runs that were killed (call only while holding the lock).
    public func clearTmp() {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: tmpDirectory)) ?? [] {
            try? fm.removeItem(atPath: "\(tmpDirectory)/\(name)")
        }
    }
}
