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
        self.files = files.sorted { $0.path < $1.path }
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

    public init(stage: String, params: JSONValue, inputs: [String: ArtifactManifest], output: String, threads: Int, slice: JobSlice? = nil) {
        self.stage = stage
        self.params = params
        self.inputs = inputs
        self.output = output
        self.threads = threads
        self.slice = slice
    }
}

// MARK: JSON forms (the same fields and names as the Codable ones; tests check the bytes agree)

extension ArtifactFile: JSONConvertible {
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(path: try f.string("path"), sha256: try f.string("sha256"), size: try f.int("size"),
                  records: try f.optionalInt("records"), source: try f.optionalString("source"),
                  location: try f.optionalString("location"))
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["path": .string(path), "sha256": .string(sha256), "size": .int(Int64(size))]
        if let records { o["records"] = .int(Int64(records)) }
        if let source { o["source"] = .string(source) }
        if let location { o["location"] = .string(location) }
        return .object(o)
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
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(key: try f.string("key"), file: try f.optionalString("file"), reason: try f.string("reason"),
                  stage: try f.optionalString("stage"))
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["key": .string(key), "reason": .string(reason)]
        if let file { o["file"] = .string(file) }
        if let stage { o["stage"] = .string(stage) }
        return .object(o)
    }
}

extension ArtifactManifest: JSONConvertible {
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(stage: try f.string("stage"), files: try f.array("files") { try ArtifactFile(json: $0, at: $1()) },
                  records: try f.int("records"), rejects: try f.array("rejects") { try Reject(json: $0, at: $1()) },
                  summary: f.optionalValue("summary") ?? .object([:]))
        schema = try f.int("schema")
    }

    public var json: JSONValue {
        .object(["schema": .int(Int64(schema)), "stage": .string(stage), "files": .array(files.map(\.json)),
                 "records": .int(Int64(records)), "rejects": .array(rejects.map(\.json)), "summary": summary])
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
        o.key("summary", into: &out)
        summary.write(into: &out)
        o.end(into: &out)
    }
}

extension JobSlice: JSONConvertible {
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(index: try f.int("index"), count: try f.int("count"))
    }

    public var json: JSONValue { .object(["index": .int(Int64(index)), "count": .int(Int64(count))]) }
}

extension StageJob: JSONConvertible {
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(stage: try f.string("stage"), params: try f.value("params"),
                  inputs: try f.mapping("inputs") { try ArtifactManifest(json: $0, at: $1()) },
                  output: try f.string("output"), threads: try f.int("threads"),
                  slice: try f.optionalValue("slice").map { try JobSlice(json: $0, at: "slice") })
        schema = try f.int("schema")
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["schema": .int(Int64(schema)), "stage": .string(stage), "params": params,
                                      "inputs": .object(inputs.mapValues(\.json)), "output": .string(output),
                                      "threads": .int(Int64(threads))]
        if let slice { o["slice"] = slice.json }
        return .object(o)
    }

    public func writeJSON(into out: inout [UInt8]) {
        var o = JSONObjectWriter(into: &out)
        o.key("inputs", into: &out)
        var inner = JSONObjectWriter(into: &out)
        for name in inputs.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            inner.key(named: name, into: &out)
            inputs[name]!.writeJSON(into: &out)
        }
        inner.end(into: &out)
        o.string("output", output, into: &out)
        o.key("params", into: &out)
        params.write(into: &out)
        o.int("schema", schema, into: &out)
        if let slice { o.value("slice", slice, into: &out) }
        o.string("stage", stage, into: &out)
        o.int("threads", threads, into: &out)
        o.end(into: &out)
    }
}
