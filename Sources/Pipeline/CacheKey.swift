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

// MARK: JSON form (the same fields and names as the Codable one; tests check the bytes agree)

extension KeyParts: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var schema: Int?, executable: String?, params: JSONValue?, inputs: [String: String]?, slices: Int?
        try r.object { r, key in
            switch key {
            case "schema": schema = try r.int()
            case "executable": executable = try r.string()
            case "params": params = try r.value()
            case "inputs":
                var ids: [String: String] = [:]
                try r.object { r, name in ids[name] = try r.string() }
                inputs = ids
            case "slices": slices = try r.int()
            default: try r.skipValue()
            }
        }
        guard let schema else { throw r.missing("schema") }
        guard let executable else { throw r.missing("executable") }
        guard let params else { throw r.missing("params") }
        guard let inputs else { throw r.missing("inputs") }
        guard let slices else { throw r.missing("slices") }
        self.init(schema: schema, executable: executable, params: params, inputs: inputs, slices: slices)
    }

    public func writeJSON(into out: inout [UInt8]) {
        var o = JSONObjectWriter(into: &out)
        o.string("executable", executable, into: &out)
        o.mapping("inputs", inputs, into: &out) { id, out in JSONValue.writeString(id, into: &out) }
        o.json("params", params, into: &out)
        o.int("schema", schema, into: &out)
        o.int("slices", slices, into: &out)
        o.end(into: &out)
    }
}
