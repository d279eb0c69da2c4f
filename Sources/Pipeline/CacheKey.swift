import Foundation
import Shards

/// Everything a job's output depends on. Its canonical JSON's SHA-256 is the job's cache key; the parts are
/// kept in the run record so that `why` can say which one changed.
public struct KeyParts: Sendable, Codable, Equatable {
    /// Bump when the meaning of a key changes (what goes into it, how stages are invoked): every key changes.
    public static let currentSchema = 1

    public var schema: Int
    /// SHA-256 of the stage executable's bytes.
    public var executable: String
    /// The stage's params, with a `foreach` value merged in.
    public var params: JSONValue
    /// Content id (ArtifactManifest.contentID) of each input artifact, by dependency name.
    public var inputs: [String: String]
    /// How many slice jobs produce the artifact (shard boundaries depend on it).
    public var slices: Int

    public init(schema: Int = KeyParts.currentSchema, executable: String, params: JSONValue, inputs: [String: String], slices: Int) {
        self.schema = schema
        self.executable = executable
        self.params = params
        self.inputs = inputs
        self.slices = slices
    }

    public var key: String {
        Digest.sha256Hex(canonicalJSON)
    }

    /// Which parts differ from `old`, in words: what `why` and `status` print.
    public func changes(since old: KeyParts) -> [String] {
        var out: [String] = []
        if schema != old.schema { out.append("key schema \(old.schema) -> \(schema)") }
        if executable != old.executable {
            out.append("executable changed (\(old.executable.prefix(12)) -> \(executable.prefix(12)))")
        }
        out += Self.paramChanges(old: old.params.objectValue ?? [:], new: params.objectValue ?? [:])
        for name in Set(inputs.keys).union(old.inputs.keys).sorted() {
            switch (old.inputs[name], inputs[name]) {
            case (nil, _?): out.append("new input \(name)")
            case (_?, nil): out.append("input \(name) removed")
            case let (a?, b?) where a != b: out.append("input \(name) changed (content \(a.prefix(12)) -> \(b.prefix(12)))")
            default: break
            }
        }
        if slices != old.slices { out.append("slices \(old.slices) -> \(slices)") }
        return out
    }

    static func paramChanges(old: [String: JSONValue], new: [String: JSONValue]) -> [String] {
        Set(old.keys).union(new.keys).sorted().compactMap { name in
            switch (old[name], new[name]) {
            case (nil, let b?): return "param \(name) added (\(b.canonicalText))"
            case (let a?, nil): return "param \(name) removed (was \(a.canonicalText))"
            case let (a?, b?) where a.canonicalText != b.canonicalText:
                return "param \(name): \(a.canonicalText) -> \(b.canonicalText)"
            default: return nil
            }
        }
    }
}

/// What `cache/runs/<key>.json` holds: the job's key parts and the artifact it produced (slices merged).
public struct RunRecord: Sendable, Codable, Equatable {
    public var key: String
    public var parts: KeyParts
    public var manifest: ArtifactManifest
    /// The stage name and pipeline file that made it (informative: the same work in another pipeline reuses it).
    public var stage: String
    public var pipeline: String
    /// Wall time of the jobs, seconds.
    public var seconds: Double

    public init(key: String, parts: KeyParts, manifest: ArtifactManifest, stage: String, pipeline: String, seconds: Double) {
        self.key = key
        self.parts = parts
        self.manifest = manifest
        self.stage = stage
        self.pipeline = pipeline
        self.seconds = seconds
    }
}

// MARK: JSON forms (the same fields and names as the Codable ones; tests check the bytes agree)

extension KeyParts: JSONConvertible {
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(schema: try f.int("schema"), executable: try f.string("executable"), params: try f.value("params"),
                  inputs: try f.mapping("inputs") { v, at in
                      guard let s = v.stringValue else { throw JSONFields.DecodeError(field: at(), reason: "expected a string") }
                      return s
                  },
                  slices: try f.int("slices"))
    }

    public var json: JSONValue {
        .object(["schema": .int(Int64(schema)), "executable": .string(executable), "params": params,
                 "inputs": .object(inputs.mapValues { .string($0) }), "slices": .int(Int64(slices))])
    }
}

extension RunRecord: JSONConvertible {
    public init(json: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        let f = try JSONFields(json, at: location())
        self.init(key: try f.string("key"), parts: try KeyParts(json: f.value("parts"), at: "parts"),
                  manifest: try ArtifactManifest(json: f.value("manifest"), at: "manifest"), stage: try f.string("stage"),
                  pipeline: try f.string("pipeline"), seconds: try f.double("seconds"))
    }

    public var json: JSONValue {
        .object(["key": .string(key), "parts": parts.json, "manifest": manifest.json, "stage": .string(stage),
                 "pipeline": .string(pipeline), "seconds": .double(seconds)])
    }

    public func writeJSON(into out: inout [UInt8]) {
        var o = JSONObjectWriter(into: &out)
        o.string("key", key, into: &out)
        o.value("manifest", manifest, into: &out)
        o.value("parts", parts, into: &out)
        o.string("pipeline", pipeline, into: &out)
        o.key("seconds", into: &out)
        JSONValue.double(seconds).write(into: &out)
        o.string("stage", stage, into: &out)
        o.end(into: &out)
    }
}
