#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// An error that ends a stage: it cannot do its job at all (per-record problems are `Reject`s instead).
public struct StageError: SubjectReasonError {
    public let stage: String
    public let reason: String
    public init(stage: String, reason: String) {
        self.stage = stage
        self.reason = reason
    }
    public var subject: String { "stage \(stage)" }
}

/// An input the stage was promised is not what its manifest says: a stored object that fails its SHA-256
/// (or cannot be read as the shard it was when committed), or a source file whose bytes changed since it was
/// listed. Never a per-record reject: the job fails, so nothing built on damaged bytes is committed as fresh.
public struct InputIntegrityError: Error, CustomStringConvertible {
    /// The file that failed: the object's path in the store, or the source file.
    public let file: String
    public let reason: String
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    /// A store object fails when the store is damaged (`verify` finds and quarantines it); a source file
    /// fails when it changed after it was listed (a new run lists it again).
    public var description: String {
        let remedy = file.contains("/objects/")
            ? "run `mammoflow verify` to quarantine it; the next `mammoflow run` rebuilds it"
            : "it changed after it was listed; `mammoflow run` lists it again"
        return "input \(file) failed its integrity check: \(reason); \(remedy)"
    }

    /// Throws unless `actual`, the SHA-256 of the bytes read at `path`, is the one `file`'s manifest lists.
    public static func check(sha256 actual: String, of file: ArtifactFile, at path: String) throws {
        guard actual == file.sha256 else {
            throw InputIntegrityError(file: path, reason: "SHA-256 is \(actual), its input's manifest says \(file.sha256)")
        }
    }

    /// Runs `body`, turning a shard reader's error about `path` into an integrity failure of that file.
    static func checking<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ShardError {
            throw InputIntegrityError(file: path, reason: error.reason)
        }
    }
}

/// Everything a stage executable needs: its job, typed parameters, input records, an output shard writer,
/// rejects, progress and the final manifest. One per process.
public final class StageContext {
    public let job: StageJob
    public let params: StageParams
    /// Set by `--plan-reuse`: the stage only counts the records it would copy and compute (`planReuse`) and
    /// writes nothing.
    public var planningReuse = false
    private var rejects: [Reject] = []
    private var shardInfos: [ShardInfo] = []
    private var lastProgress = 0.0
    private let lock = NSLock()

    /// With `declared` params, the job's params are checked against them first (`ParamSpec.problems`), and
    /// the typed accessors without a `default:` take the declared defaults.
    public init(job: StageJob, declared: [ParamSpec]? = nil) throws {
        self.job = job
        self.params = StageParams(stage: job.stage, values: job.params, declared: declared ?? [])
        if let declared {
            let problems = ParamSpec.problems(of: job.params.objectValue ?? [:], against: declared)
            guard problems.isEmpty else { throw StageError(stage: job.stage, reason: problems.joined(separator: "; ")) }
        }
    }

    /// Reads `job.json`.
    public convenience init(jobFile path: String, declared: [ParamSpec]? = nil) throws {
        let bytes = try readFile(path)
        let job: StageJob
        do { job = try StageJob(jsonFile: bytes, named: path) } catch {
            throw StageError(stage: "?", reason: "not a valid job file: \(error)")
        }
        try self.init(job: job, declared: declared)
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

    /// An input file's bytes (a table, a model), checked against the SHA-256 its manifest lists: a damaged
    /// table would otherwise parse into wrong rows without a word.
    public func verifiedContents(of file: ArtifactFile) throws -> [UInt8] {
        let path = try location(of: file)
        let bytes = try readFile(path)
        try InputIntegrityError.check(sha256: Digest.sha256Hex(bytes), of: file, at: path)
        return bytes
    }

    /// The shards of an input artifact, opened, in key order. A shard that cannot be opened was damaged after
    /// it was committed: an `InputIntegrityError`.
    public func shards(of manifest: ArtifactManifest) throws -> [ShardReader] {
        try manifest.shards.map(openShard).sorted { ($0.entries.first?.key ?? "") < ($1.entries.first?.key ?? "") }
    }

    /// One shard of an input artifact, opened: one that cannot be is an `InputIntegrityError`.
    func openShard(_ file: ArtifactFile) throws -> ShardReader {
        let path = try location(of: file)
        return try InputIntegrityError.checking(path) { try ShardReader(path: path) }
    }

    /// Every record of an input artifact, in key order, restricted to this job's slice. The shards of a sliced
    /// stage's artifact interleave (each slice wrote every N-th record), so records are put in key order
    /// across shards, not shard after shard: a stage writing them needs ascending keys.
    public func records(of manifest: ArtifactManifest) throws -> [RecordRef] {
        var all: [RecordRef] = []
        var ordered = true
        for shard in try shards(of: manifest) {
            let metadata = try InputIntegrityError.checking(shard.path) { try shard.metadata() }
            if let last = all.last?.key, let first = shard.entries.first?.key,
               !Array(last.utf8).lexicographicallyPrecedes(Array(first.utf8)) { ordered = false }
            all += (0..<shard.count).map { RecordRef(shard: shard, index: $0, metadata: metadata[$0]) }
        }
        if !ordered { all.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) } }
        guard let slice = job.slice else { return all }
        return all.enumerated().filter { slice.contains(position: $0.offset) }.map(\.element)
    }

    // MARK: Outputs

    /// A fresh writer for this stage's output shards, cut by `boundaries`; end with `finishWriting(_:reused:computed:)`.
    /// An earlier record it copies is checked first: a damaged one is an `InputIntegrityError` that fails the job.
    public func shardWriter(boundaries: ShardBoundaries = .standard, level: Int32 = ShardFormat.defaultLevel) -> ShardSequenceWriter {
        ShardSequenceWriter(directory: outputDirectory, boundaries: boundaries, level: level) { record in
            try InputIntegrityError.checking(record.shard.path) { try record.shard.verifiedFrame(at: record.index) }
        }
    }

    /// Makes an artifact's shards this artifact's files: hard links (no bytes copied) named as that artifact
    /// names them, listed with its hashes so nothing is read or hashed again. For output that is, record for
    /// record, an artifact the store already holds (a pass-through).
    public func linkShards(of manifest: ArtifactManifest) throws {
        recordShards(try manifest.shards.map { try ShardInfo.linking($0, from: try location(of: $0), into: outputDirectory) })
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
    /// The payload, its frame's SHA-256 checked: a mismatch is an `InputIntegrityError`, not a bad record.
    public func payload() throws -> [UInt8] { try InputIntegrityError.checking(shard.path) { try shard.payload(at: index) } }
    public func image() throws -> ImagePayload { try ImagePayload(decoding: payload()) }
}

/// Typed access to a stage's parameters, with errors that name the stage, the field and what was wrong.
/// A stage that declares its params (`runStage(_:params:_:)`) reads them without `default:`: the declaration
/// is the one place a default is written.
public struct StageParams {
    public let stage: String
    public let values: JSONValue
    let declared: [String: ParamSpec]

    public init(stage: String, values: JSONValue, declared: [ParamSpec] = []) {
        self.stage = stage
        self.values = values
        self.declared = Dictionary(declared.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The value given, else the declared default; nil for an optional param left out.
    func declaredValue(_ name: String) throws -> JSONValue? {
        guard let spec = declared[name] else {
            throw StageError(stage: stage, reason: "param '\(name)' is read but not declared (runStage's params)")
        }
        guard let v = value(name) ?? spec.defaultValue else {
            if spec.optional { return nil }
            throw StageError(stage: stage, reason: "param '\(name)' is required: \(spec.help)")
        }
        return v
    }

    /// A declared param that must have a value (given or default).
    func required(_ name: String) throws -> JSONValue {
        guard let v = try declaredValue(name) else {
            throw StageError(stage: stage, reason: "param '\(name)' is optional and has no default: read it with optional(_:)")
        }
        return v
    }

    public func int(_ name: String) throws -> Int { try int(name, default: required(name).intValue ?? 0) }
    public func double(_ name: String) throws -> Double { try double(name, default: required(name).doubleValue ?? 0) }
    public func string(_ name: String) throws -> String { try string(name, default: required(name).stringValue ?? "") }
    public func bool(_ name: String) throws -> Bool { try bool(name, default: required(name).boolValue ?? false) }
    public func strings(_ name: String) throws -> [String] {
        let fallback = try required(name)
        return try strings(name, default: fallback.stringValue.map { [$0] } ?? fallback.arrayValue?.compactMap(\.stringValue) ?? [])
    }
    /// A declared optional param without a default: nil when left out.
    public func optional(_ name: String) throws -> JSONValue? { try declaredValue(name) }

    func missingOrWrong(_ name: String, _ expected: String, _ found: JSONValue) -> StageError {
        StageError(stage: stage, reason: "param '\(name)' must be \(expected), found \(found.kindName) \(found.canonicalText)")
    }

    public func value(_ name: String) -> JSONValue? {
        guard let v = values[name], v != .null else { return nil }
        return v
    }

    /// The one typed getter: the param as `T`, `fallback` when it is left out, an error saying `expected`
    /// when it is given as something `extract` does not accept.
    func typed<T>(_ name: String, _ expected: String, default fallback: T, _ extract: (JSONValue) -> T?) throws -> T {
        guard let v = value(name) else { return fallback }
        guard let typed = extract(v) else { throw missingOrWrong(name, expected, v) }
        return typed
    }

    public func int(_ name: String, default fallback: Int) throws -> Int {
        try typed(name, "a whole number", default: fallback, \.intValue)
    }

    public func double(_ name: String, default fallback: Double) throws -> Double {
        try typed(name, "a number", default: fallback, \.doubleValue)
    }

    public func string(_ name: String, default fallback: String) throws -> String {
        try typed(name, "a string", default: fallback, \.stringValue)
    }

    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        try typed(name, "true or false", default: fallback, \.boolValue)
    }

    /// One of a fixed set of words, for a stage that does not declare its params (a declared param lists
    /// its `choices` instead).
    public func choice(_ name: String, _ options: [String], default fallback: String) throws -> String {
        let s = try string(name, default: fallback)
        guard options.contains(s) else {
            throw StageError(stage: stage, reason: "param '\(name)' must be one of \(options.joined(separator: ", ")), found \"\(s)\"")
        }
        return s
    }

    /// A list of strings; a single string is a list of one.
    public func strings(_ name: String, default fallback: [String]) throws -> [String] {
        try typed(name, "a list of strings", default: fallback) { v in
            if let s = v.stringValue { return [s] }
            guard let items = v.arrayValue else { return nil }
            let strings = items.compactMap(\.stringValue)
            return strings.count == items.count ? strings : nil
        }
    }
}

/// The entry point of every stage executable: parses `--job FILE`, runs `body`, exits non-zero with a
/// one-line error when the stage cannot do its job.
///
/// `params` declares the stage's params (name, type, range or choices, default, help). With them, the job's
/// params are checked before `body` runs (an unknown, empty, mistyped or out-of-range one is an error naming
/// the valid ones), `--help` lists them, and `--describe-params` prints them as JSON for the scheduler, which
/// then checks a pipeline's params while planning, before anything runs (docs/stage-contract.md). Without
/// `params` nothing is checked. `reusesRecords` tells the scheduler (through the same description) that the
/// stage copies unchanged records from an earlier artifact named in the job (`mapImageRecords` does).
public func runStage(_ name: String, params: [ParamSpec]? = nil, reusesRecords: Bool = false,
                     _ body: (StageContext) throws -> Void) -> Never {
    let args = CommandLine.arguments
    if args.contains("--describe-params") {
        guard let params else {
            FileHandle.standardError.write(Data("mammoflow-\(name) does not declare its params\n".utf8))
            exit(2)
        }
        print(StageParamsDescription(stage: name, params: params, reusesRecords: reusesRecords).json.canonicalText)
        exit(0)
    }
    if args.contains("--help") || args.contains("-h") {
        print("usage: mammoflow-\(name) --job JOB.json [--plan-reuse]\n\nA mammoflow pipeline stage; the scheduler writes the job file (docs/stage-contract.md).")
        if let params { print("\nparams:\n" + ParamSpec.listing(params)) }
        exit(0)
    }
    guard let i = args.firstIndex(of: "--job"), i + 1 < args.count else {
        FileHandle.standardError.write(Data("mammoflow-\(name): usage: mammoflow-\(name) --job JOB.json\n".utf8))
        exit(2)
    }
    do {
        let context = try StageContext(jobFile: args[i + 1], declared: params)
        context.planningReuse = args.contains("--plan-reuse")
        try body(context)
        if context.planningReuse {
            throw StageError(stage: name, reason: "--plan-reuse: the stage ended without counting its records")
        }
        exit(0)
    } catch let plan as ReusePlan {
        print(RecordReuse.reportLine(reused: plan.reused, computed: plan.computed))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
}

