import Shards

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

// MARK: JSON form (the same fields and names as the Codable one; tests check the bytes agree)

extension RunRecord: JSONConvertible {
    public init(reading r: inout JSONReader) throws {
        var key: String?, parts: KeyParts?, manifest: ArtifactManifest?, stage: String?, pipeline: String?, seconds: Double?
        try r.object { r, name in
            switch name {
            case "key": key = try r.string()
            case "parts": parts = try KeyParts(reading: &r)
            case "manifest": manifest = try ArtifactManifest(reading: &r)
            case "stage": stage = try r.string()
            case "pipeline": pipeline = try r.string()
            case "seconds": seconds = try r.double()
            default: try r.skipValue()
            }
        }
        guard let key else { throw r.missing("key") }
        guard let parts else { throw r.missing("parts") }
        guard let manifest else { throw r.missing("manifest") }
        guard let stage else { throw r.missing("stage") }
        guard let pipeline else { throw r.missing("pipeline") }
        guard let seconds else { throw r.missing("seconds") }
        self.init(key: key, parts: parts, manifest: manifest, stage: stage, pipeline: pipeline, seconds: seconds)
    }

    public func writeJSON(into out: inout [UInt8]) { writeJSON(into: &out, manifestJSON: nil) }

    /// With `manifestJSON`, that text stands for the manifest (see `Store.writeRun`).
    func writeJSON(into out: inout [UInt8], manifestJSON: [UInt8]?) {
        var o = JSONObjectWriter(into: &out)
        o.string("key", key, into: &out)
        if let manifestJSON {
            o.key("manifest", into: &out)
            out += manifestJSON
        } else {
            o.value("manifest", manifest, into: &out)
        }
        o.value("parts", parts, into: &out)
        o.string("pipeline", pipeline, into: &out)
        o.json("seconds", .double(seconds), into: &out)
        o.string("stage", stage, into: &out)
        o.end(into: &out)
    }
}
