/// The stage contract's two documents: the job a scheduler hands a stage (`job.json`), and the manifest a
/// stage leaves behind (`manifest.json`, written last). docs/stage-contract.md describes them for people
/// who write stages in other languages.

/// One file of an artifact.
public struct ArtifactFile: Sendable, Codable, Equatable {
    /// Path relative to the artifact, e.g. "3f2a...e1.mgs" or "train_images/5/640805896.dcm".
    public var path: String
    /// SHA-256 of the file's bytes, hex: its object id in the store.
    public var sha256: String
    public var size: Int
    /// Records in the file when it is a shard.
    public var records: Int?
    /// Set for files that stay outside the store (a user's dataset): the absolute path they are read from.
    public var source: String?
    /// Filled in by the scheduler in a job's copy of an input manifest: where to read the file now.
    public var location: String?

    public init(path: String, sha256: String, size: Int, records: Int? = nil, source: String? = nil, location: String? = nil) {
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.records = records
        self.source = source
        self.location = location
    }

    public var isShard: Bool { path.hasSuffix(".\(ShardFormat.fileExtension)") }
}

/// A record a stage could not process, and why. The run goes on without it.
public struct Reject: Sendable, Codable, Equatable {
    /// The record's key (image id, or whatever the stage keys on).
    public var key: String
    /// The file the problem is in, when there is one.
    public var file: String?
    public var reason: String
    /// The stage that rejected it; rejects are carried forward to dependents.
    public var stage: String?

    public init(key: String, file: String? = nil, reason: String, stage: String? = nil) {
        self.key = key
        self.file = file
        self.reason = reason
        self.stage = stage
    }
}

/// What a stage produced: its files, counts, rejects and a free-form summary (fold sizes, metrics...).
public struct ArtifactManifest: Sendable, Codable, Equatable {
    public static let schema = 1
    public var schema: Int = ArtifactManifest.schema
    public var stage: String
    /// Sorted by path.
    public var files: [ArtifactFile]
    public var records: Int
    public var rejects: [Reject]
    public var summary: JSONValue

    public init(stage: String, files: [ArtifactFile], records: Int, rejects: [Reject] = [], summary: JSONValue = .object([:])) {
        self.stage = stage
        // Usually sorted already (stages list in order, and a parsed manifest was written sorted): checking is
        // one pass, while sorting copies 54,706 entries.
        let ordered = zip(files, files.dropFirst()).allSatisfy { $0.path <= $1.path }
        self.files = ordered ? files : files.sorted { $0.path < $1.path }
        self.records = records
        self.rejects = rejects
        self.summary = summary
    }

    public var shards: [ArtifactFile] { files.filter(\.isShard) }

    public func file(_ path: String) -> ArtifactFile? { files.first { $0.path == path } }

    /// The artifact's content id: SHA-256 of its canonical JSON without scheduler-filled locations.
    /// Dependents' cache keys use it, so equal outputs keep dependents fresh even when made twice.
    public var contentID: String {
        var bytes: [UInt8] = []
        writeJSON(into: &bytes, withLocations: false)
        return Digest.sha256Hex(bytes)
    }
}

/// A slice of a stage's records: job `index` of `count` takes every record whose position p has p % count == index.
public struct JobSlice: Sendable, Codable, Equatable {
    public var index: Int
    public var count: Int
    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }
    public func contains(position: Int) -> Bool { position % count == index }
}

/// What a scheduler hands a stage in `job.json`.
public struct StageJob: Sendable, Codable, Equatable {
    public static let schema = 1
    public var schema: Int = StageJob.schema
    /// The stage's name in the pipeline file.
    public var stage: String
    /// The stage's parameters (for a `foreach` job, including its own value).
    public var params: JSONValue
    /// The manifests of the artifacts this stage depends on, by dependency name, with `location`s filled in.
    public var inputs: [String: ArtifactManifest]
    /// Absolute directory the stage writes its files and `manifest.json` into.
    public var output: String
    /// How many threads the stage may use.
    public var threads: Int
    public var slice: JobSlice?
    /// An artifact an earlier run of the same executable with the same params wrote (its files located), from
    /// which a stage that supports it copies the records whose own inputs are unchanged rather than computing
    /// them again (docs/stage-contract.md, "Record reuse"). Stages that do not know the field ignore it.
    public var reuse: ArtifactManifest?

    public init(stage: String, params: JSONValue, inputs: [String: ArtifactManifest], output: String, threads: Int,
                slice: JobSlice? = nil, reuse: ArtifactManifest? = nil) {
        self.stage = stage
        self.params = params
        self.inputs = inputs
        self.output = output
        self.threads = threads
        self.slice = slice
        self.reuse = reuse
    }
}

// MARK: JSON forms (the same fields and names as the Codable ones; tests check the bytes agree)

extension ArtifactFile: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var path: String?, sha256: String?, size: Int?, records: Int?, source: String?, location: String?
        try r.object { r, key in
            switch key {
            case "path": path = try r.string()
            case "sha256": sha256 = try r.string()
            case "size": size = try r.int()
            case "records": records = try r.optionalInt()
            case "source": source = try r.optionalString()
            case "location": location = try r.optionalString()
            default: try r.skipValue()
            }
        }
        guard let path else { throw r.missing("path") }
        guard let sha256 else { throw r.missing("sha256") }
        guard let size else { throw r.missing("size") }
        self.init(path: path, sha256: sha256, size: size, records: records, source: source, location: location)
    }

    public func writeJSON(into out: inout [UInt8]) { writeJSON(into: &out, withLocation: true) }

    func writeJSON(into out: inout [UInt8], withLocation: Bool) {
        var o = JSONObjectWriter(into: &out)
        if withLocation, let location { o.string("location", location, into: &out) }
        o.string("path", path, into: &out)
        if let records { o.int("records", records, into: &out) }
        o.string("sha256", sha256, into: &out)
        o.int("size", size, into: &out)
        if let source { o.string("source", source, into: &out) }
        o.end(into: &out)
    }
}

extension Reject: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var key: String?, file: String?, reason: String?, stage: String?
        try r.object { r, name in
            switch name {
            case "key": key = try r.string()
            case "file": file = try r.optionalString()
            case "reason": reason = try r.string()
            case "stage": stage = try r.optionalString()
            default: try r.skipValue()
            }
        }
        guard let key else { throw r.missing("key") }
        guard let reason else { throw r.missing("reason") }
        self.init(key: key, file: file, reason: reason, stage: stage)
    }

    public func writeJSON(into out: inout [UInt8]) {
        var o = JSONObjectWriter(into: &out)
        if let file { o.string("file", file, into: &out) }
        o.string("key", key, into: &out)
        o.string("reason", reason, into: &out)
        if let stage { o.string("stage", stage, into: &out) }
        o.end(into: &out)
    }
}

extension ArtifactManifest: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var schema: Int?, stage: String?, files: [ArtifactFile]?, records: Int?, rejects: [Reject]?, summary: JSONValue?
        try r.object { r, key in
            switch key {
            case "schema": schema = try r.int()
            case "stage": stage = try r.string()
            case "files": files = try r.list { try ArtifactFile(reading: &$0) }
            case "records": records = try r.int()
            case "rejects": rejects = try r.list { try Reject(reading: &$0) }
            case "summary": summary = try r.value()
            default: try r.skipValue()
            }
        }
        guard let schema else { throw r.missing("schema") }
        guard let stage else { throw r.missing("stage") }
        guard let files else { throw r.missing("files") }
        guard let records else { throw r.missing("records") }
        guard let rejects else { throw r.missing("rejects") }
        self.init(stage: stage, files: files, records: records, rejects: rejects, summary: summary ?? .object([:]))
        self.schema = schema
    }

    public func writeJSON(into out: inout [UInt8]) { writeJSON(into: &out, withLocations: true) }

    /// The canonical form written directly: 54,706 files take milliseconds rather than a tree of dictionaries.
    func writeJSON(into out: inout [UInt8], withLocations: Bool) {
        var o = JSONObjectWriter(into: &out)
        o.key("files", into: &out)
        out.append(UInt8(ascii: "["))
        for (i, file) in files.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            file.writeJSON(into: &out, withLocation: withLocations)
        }
        out.append(UInt8(ascii: "]"))
        o.int("records", records, into: &out)
        o.array("rejects", rejects, into: &out)
        o.int("schema", schema, into: &out)
        o.string("stage", stage, into: &out)
        o.json("summary", summary, into: &out)
        o.end(into: &out)
    }
}

extension JobSlice: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var index: Int?, count: Int?
        try r.object { r, key in
            switch key {
            case "index": index = try r.int()
            case "count": count = try r.int()
            default: try r.skipValue()
            }
        }
        guard let index else { throw r.missing("index") }
        guard let count else { throw r.missing("count") }
        self.init(index: index, count: count)
    }

    public func writeJSON(into out: inout [UInt8]) {
        var o = JSONObjectWriter(into: &out)
        o.int("count", count, into: &out)
        o.int("index", index, into: &out)
        o.end(into: &out)
    }
}

extension StageJob: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var schema: Int?, stage: String?, params: JSONValue?, inputs: [String: ArtifactManifest]?, output: String?,
            threads: Int?, slice: JobSlice?, reuse: ArtifactManifest?
        try r.object { r, key in
            switch key {
            case "schema": schema = try r.int()
            case "stage": stage = try r.string()
            case "params": params = try r.value()
            case "inputs":
                var manifests: [String: ArtifactManifest] = [:]
                try r.object { r, name in manifests[name] = try ArtifactManifest(reading: &r) }
                inputs = manifests
            case "output": output = try r.string()
            case "threads": threads = try r.int()
            case "slice": slice = r.skipNull() ? nil : try JobSlice(reading: &r)
            case "reuse": reuse = r.skipNull() ? nil : try ArtifactManifest(reading: &r)
            default: try r.skipValue()
            }
        }
        guard let schema else { throw r.missing("schema") }
        guard let stage else { throw r.missing("stage") }
        guard let params else { throw r.missing("params") }
        guard let inputs else { throw r.missing("inputs") }
        guard let output else { throw r.missing("output") }
        guard let threads else { throw r.missing("threads") }
        self.init(stage: stage, params: params, inputs: inputs, output: output, threads: threads, slice: slice, reuse: reuse)
        self.schema = schema
    }

    public func writeJSON(into out: inout [UInt8]) {
        var o = JSONObjectWriter(into: &out)
        o.mapping("inputs", inputs, into: &out) { manifest, out in manifest.writeJSON(into: &out) }
        o.string("output", output, into: &out)
        o.json("params", params, into: &out)
        if let reuse { o.value("reuse", reuse, into: &out) }
        o.int("schema", schema, into: &out)
        if let slice { o.value("slice", slice, into: &out) }
        o.string("stage", stage, into: &out)
        o.int("threads", threads, into: &out)
        o.end(into: &out)
    }
}
