import Foundation
import Shards

/// A record to put in a test's input shard.
public struct InputRecord {
    public var key: String
    public var metadata: JSONValue
    public var payload: [UInt8]
    /// Byte-shuffle width (2 for 16-bit samples), as the stage that would have written it uses.
    public var elementSize: Int

    public init(key: String, metadata: JSONValue = [:], payload: [UInt8], elementSize: Int = 1) {
        self.key = key
        self.metadata = metadata
        self.payload = payload
        self.elementSize = elementSize
    }
}

/// A stage run that did not exit 0: the exit status and everything the stage wrote on stderr.
public struct StageRunFailure: Error, CustomStringConvertible {
    public let stage: String
    public let status: Int32
    public let log: String

    public var description: String { "stage \(stage) exited with status \(status):\n\(log)" }
}

/// What a stage run left: its manifest (every file's `location` filled in, as the next stage's job would
/// see it) and its stderr.
public struct StageRunResult {
    public let manifest: ArtifactManifest
    public let log: String
}

/// Runs a built stage executable (`mammoflow-<stage>`) on a job the way the scheduler does: a `job.json`
/// with the inputs' locations, an empty output folder, `--job <file>`. No store, no scheduler: a test of a
/// stage sees exactly the stage contract (docs/stage-contract.md).
public struct StageHarness {
    /// The folder holding the stage executables.
    public let binaries: String

    /// Finds the built executables beside the test bundle (or in .build/debug); throws when they are not built.
    public init() throws {
        guard let found = builtProductsDirectory() else { throw StageHarnessError.notBuilt }
        binaries = found
    }

    public init(binaries: String) { self.binaries = binaries }

    /// The path of stage `name`'s executable.
    public func executable(_ stage: String) -> String { "\(binaries)/mammoflow-\(stage)" }

    /// Writes `records` (in key order) as one shard in `directory` and returns the artifact manifest a stage's
    /// job would list as an input, with the shard's location filled in.
    public static func inputArtifact(_ records: [InputRecord], in directory: String, stage: String = "input") throws -> ArtifactManifest {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try ShardWriter(directory: directory)
        for record in records.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            try writer.append(key: record.key, metadata: record.metadata, payload: record.payload, elementSize: record.elementSize)
        }
        let info = try writer.finish()
        return ArtifactManifest(stage: stage, files: [ArtifactFile(path: info.name, sha256: info.sha256, size: info.size,
                                                                   records: info.records, location: "\(directory)/\(info.name)")],
                                records: info.records)
    }

    /// Runs `stage` on `inputs` (by dependency name) with `params`, in `directory` (job file `<stage>-job.json`,
    /// output `<stage>-out/`). Throws `StageRunFailure` when the stage exits non-zero.
    public func run(_ stage: String, params: JSONValue = [:], inputs: [String: ArtifactManifest], in directory: String,
                    threads: Int = 2, slice: JobSlice? = nil) throws -> StageRunResult {
        let output = "\(directory)/\(stage)-out", jobFile = "\(directory)/\(stage)-job.json"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let job = StageJob(stage: stage, params: params, inputs: inputs, output: output, threads: threads, slice: slice)
        try writeFileAtomically(jobFile, job.canonicalJSON)
        let ran = try runProcess(executable(stage), ["--job", jobFile], cwd: directory, separateStderr: true)
        guard ran.status == 0 else { throw StageRunFailure(stage: stage, status: ran.status, log: ran.stderr) }
        var manifest = try ArtifactManifest(jsonFile: readFile("\(output)/manifest.json"), named: "\(output)/manifest.json")
        manifest.files = manifest.files.map { file in
            var located = file
            located.location = file.source ?? "\(output)/\(file.path)"
            return located
        }
        return StageRunResult(manifest: manifest, log: ran.stderr)
    }

    /// The params `stage` declares (its `--describe-params` answer), or nil when it declares none.
    public func declaredParams(_ stage: String) throws -> JSONValue? {
        let ran = try runProcess(executable(stage), ["--describe-params"], separateStderr: true)
        return ran.status == 0 ? try JSONValue.parse(Array(ran.stdout.utf8)) : nil
    }

    /// Every record of an artifact's shards, in shard order: key, metadata, payload (each verified).
    public static func records(of manifest: ArtifactManifest) throws -> [(key: String, metadata: JSONValue, payload: [UInt8])] {
        try manifest.shards.flatMap { file -> [(key: String, metadata: JSONValue, payload: [UInt8])] in
            guard let location = file.location else { throw StageHarnessError.noLocation(file.path) }
            let shard = try ShardReader(path: location)
            return try shard.metadata().enumerated().map { i, metadata in (shard.entries[i].key, metadata, try shard.payload(at: i)) }
        }
    }
}

public enum StageHarnessError: Error, CustomStringConvertible {
    case notBuilt
    case noLocation(String)

    public var description: String {
        switch self {
        case .notBuilt: return "the stage executables were not found: build the package first (swift build --build-tests)"
        case .noLocation(let path): return "artifact file \(path) has no location"
        }
    }
}
