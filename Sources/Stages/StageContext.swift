#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// An error that ends a stage: it cannot do its job at all (per-record problems are `Reject`s instead).
public struct StageError: Error, CustomStringConvertible {
    public let stage: String
    public let reason: String
    public init(stage: String, reason: String) {
        self.stage = stage
        self.reason = reason
    }
    public var description: String { "stage \(stage): \(reason)" }
}

/// Everything a stage executable needs: its job, typed parameters, input records, an output shard writer,
/// rejects, progress and the final manifest. One per process.
public final class StageContext {
    public let job: StageJob
    public let params: StageParams
    private var rejects: [Reject] = []
    private var shardInfos: [ShardInfo] = []
    private var lastProgress = 0.0
    private let lock = NSLock()

    public init(job: StageJob) {
        self.job = job
        self.params = StageParams(stage: job.stage, values: job.params)
    }

    /// Reads `job.json`.
    public convenience init(jobFile path: String) throws {
        let bytes = try readFile(path)
        let job: StageJob
        do { job = try StageJob(jsonFile: bytes, named: path) } catch {
            throw StageError(stage: "?", reason: "not a valid job file: \(error)")
        }
        self.init(job: job)
    }

    public var stage: String { job.stage }
    public var outputDirectory: String { job.output }
    public var threads: Int { max(1, job.threads) }

    // MARK: Inputs

    public func input(_ name: String) throws -> ArtifactManifest {
        guard let manifest = job.inputs[name] else {
            let known = job.inputs.keys.sorted().joined(separator: ", ")
            throw StageError(stage: stage, reason: "needs an input from stage '\(name)'; the job has [\(known)]")
        }
        return manifest
    }

    /// The one input of a stage that has exactly one dependency.
    public func soleInput() throws -> (name: String, manifest: ArtifactManifest) {
        guard job.inputs.count == 1, let (name, manifest) = job.inputs.first else {
            throw StageError(stage: stage, reason: "expects exactly one input, the job has \(job.inputs.count)")
        }
        return (name, manifest)
    }

    /// Where to read an input file now.
    public func location(of file: ArtifactFile) throws -> String {
        guard let path = file.location ?? file.source else {
            throw StageError(stage: stage, reason: "input file \(file.path) has no location in the job")
        }
        return path
    }

    /// The shards of an input artifact, opened, in key order.
    public func shards(of manifest: ArtifactManifest) throws -> [ShardReader] {
        try manifest.shards
            .map { try ShardReader(path: location(of: $0)) }
            .sorted { ($0.entries.first?.key ?? "") < ($1.entries.first?.key ?? "") }
    }

    /// Every record of an input artifact, in key order, restricted to this job's slice.
    public func records(of manifest: ArtifactManifest) throws -> [RecordRef] {
        var refs: [RecordRef] = []
        var position = 0
        for shard in try shards(of: manifest) {
            let metadata = try shard.metadata()
            for i in 0..<shard.count {
                defer { position += 1 }
                if let slice = job.slice, !slice.contains(position: position) { continue }
                refs.append(RecordRef(shard: shard, index: i, metadata: metadata[i]))
            }
        }
        return refs
    }

    // MARK: Outputs

    /// A fresh writer for this stage's output shards. Call `finish()` on it, then `recordShards(_:)`.
    public func shardWriter(targetBytes: Int = ShardFormat.defaultTargetBytes, level: Int32 = 3) -> ShardSequenceWriter {
        ShardSequenceWriter(directory: outputDirectory, targetBytes: targetBytes, level: level)
    }

    /// Remembers finished shards so `finish` lists them without hashing them again.
    public func recordShards(_ infos: [ShardInfo]) {
        lock.lock(); defer { lock.unlock() }
        shardInfos += infos
    }

    /// Records a reject: the stage goes on without this record.
    public func reject(key: String, file: String? = nil, reason: String) {
        lock.lock(); defer { lock.unlock() }
        rejects.append(Reject(key: key, file: file, reason: reason, stage: stage))
        log("reject \(key)\(file.map { " (\($0))" } ?? ""): \(reason)")
    }

    /// A log line (stderr; the scheduler captures it into the job's log).
    public func log(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// Reports progress as a machine-readable `progress DONE TOTAL` line, at most 5 times a second.
    public func progress(done: Int, total: Int) {
        let now = Date().timeIntervalSince1970
        lock.lock()
        let due = done == total || now - lastProgress >= 0.2
        if due { lastProgress = now }
        lock.unlock()
        if due { FileHandle.standardError.write(Data("progress \(done) \(total)\n".utf8)) }
    }

    /// Writes `manifest.json` last, atomically. Lists every file in the output directory (shards already
    /// recorded are not hashed again), carries the inputs' rejects forward, and adds this stage's own.
    /// `sources` are files that stay outside the store (each with `source` set), e.g. an ingested dataset;
    /// `sourceStamps`, when the stage stamped them as it hashed them, go to MAMMOFLOW_SOURCE_STAMPS so that the
    /// scheduler need not check every source again.
    @discardableResult
    public func finish(records: Int, summary: JSONValue = .object([:]), sources: [ArtifactFile] = [],
                       sourceStamps: SourceStamps? = nil) throws -> ArtifactManifest {
        let known = Dictionary(shardInfos.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var files = sources
        let root = URL(fileURLWithPath: outputDirectory)
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            if relative == "manifest.json" || relative.hasPrefix(".") || relative.contains("/.") { continue }
            if let info = known[relative] {
                files.append(ArtifactFile(path: relative, sha256: info.sha256, size: info.size, records: info.records))
            } else {
                let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
                files.append(ArtifactFile(path: relative, sha256: try Digest.sha256Hex(file: url.path), size: size))
            }
        }
        var allRejects = job.inputs.keys.sorted().flatMap { job.inputs[$0]!.rejects }
        allRejects += rejects.sorted { ($0.key, $0.reason) < ($1.key, $1.reason) }
        let manifest = ArtifactManifest(stage: stage, files: files, records: records, rejects: allRejects, summary: summary)
        // The stamps are written while the manifest is encoded (54,706 files: both take a while); the manifest
        // still goes last.
        var bytes: [UInt8] = []
        try concurrently({ bytes = manifest.canonicalJSON }, {
            guard let sourceStamps, let path = ProcessInfo.processInfo.environment["MAMMOFLOW_SOURCE_STAMPS"] else { return }
            try sourceStamps.write(to: path)
        })
        try writeFileAtomically("\(outputDirectory)/manifest.json", bytes)
        return manifest
    }
}

/// A record of an input shard: its metadata is in memory, its payload is read on demand.
public struct RecordRef: @unchecked Sendable {
    public let shard: ShardReader
    public let index: Int
    public let metadata: JSONValue
    public init(shard: ShardReader, index: Int, metadata: JSONValue) {
        self.shard = shard
        self.index = index
        self.metadata = metadata
    }
    public var key: String { shard.entries[index].key }
    public func payload() throws -> [UInt8] { try shard.payload(at: index) }
    public func image() throws -> ImagePayload { try ImagePayload(decoding: payload()) }
}

/// Typed access to a stage's parameters, with errors that name the stage, the field and what was wrong.
public struct StageParams {
    public let stage: String
    public let values: JSONValue

    func missingOrWrong(_ name: String, _ expected: String, _ found: JSONValue) -> StageError {
        StageError(stage: stage, reason: "param '\(name)' must be \(expected), found \(found.kindName) \(found.canonicalText)")
    }

    public func value(_ name: String) -> JSONValue? {
        guard let v = values[name], v != .null else { return nil }
        return v
    }

    public func int(_ name: String, default fallback: Int) throws -> Int {
        guard let v = value(name) else { return fallback }
        guard let i = v.intValue else { throw missingOrWrong(name, "a whole number", v) }
        return i
    }

    public func double(_ name: String, default fallback: Double) throws -> Double {
        guard let v = value(name) else { return fallback }
        guard let d = v.doubleValue else { throw missingOrWrong(name, "a number", v) }
        return d
    }

    public func string(_ name: String, default fallback: String) throws -> String {
        guard let v = value(name) else { return fallback }
        guard let s = v.stringValue else { throw missingOrWrong(name, "a string", v) }
        return s
    }

    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let v = value(name) else { return fallback }
        guard let b = v.boolValue else { throw missingOrWrong(name, "true or false", v) }
        return b
    }

    /// One of a fixed set of words, e.g. `voi: window|none`.
    public func choice(_ name: String, _ options: [String], default fallback: String) throws -> String {
        let s = try string(name, default: fallback)
        guard options.contains(s) else {
            throw StageError(stage: stage, reason: "param '\(name)' must be one of \(options.joined(separator: ", ")), found \"\(s)\"")
        }
        return s
    }

    public func strings(_ name: String, default fallback: [String]) throws -> [String] {
        guard let v = value(name) else { return fallback }
        if let s = v.stringValue { return [s] }
        guard let items = v.arrayValue else { throw missingOrWrong(name, "a list of strings", v) }
        return try items.map { item in
            guard let s = item.stringValue else { throw missingOrWrong(name, "a list of strings", v) }
            return s
        }
    }
}

/// The entry point of every stage executable: parses `--job FILE`, runs `body`, exits non-zero with a
/// one-line error when the stage cannot do its job.
public func runStage(_ name: String, _ body: (StageContext) throws -> Void) -> Never {
    let args = CommandLine.arguments
    if args.contains("--help") || args.contains("-h") {
        print("usage: mammoflow-\(name) --job JOB.json\n\nA mammoflow pipeline stage; the scheduler writes the job file (docs/stage-contract.md).")
        exit(0)
    }
    guard let i = args.firstIndex(of: "--job"), i + 1 < args.count else {
        FileHandle.standardError.write(Data("mammoflow-\(name): usage: mammoflow-\(name) --job JOB.json\n".utf8))
        exit(2)
    }
    do {
        let context = try StageContext(jobFile: args[i + 1])
        try body(context)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
}
