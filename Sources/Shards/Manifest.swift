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
        var copy = self
        copy.files = files.map { var f = $0; f.location = nil; return f }
        return Digest.sha256Hex((try? JSONValue(encoding: copy))?.canonicalText ?? "")
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
