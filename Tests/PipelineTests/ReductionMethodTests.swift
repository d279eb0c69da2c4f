import Foundation
import Pipeline
import Shards
import StageTesting
import Testing

/// decode's `reduce_by`, through the real executables on a synthetic cohort with both RSNA encodings: `area`
/// changes only the JPEG 2000 records (decoded in full and area-averaged instead of taken from a resolution
/// level); JPEG lossless images are area-averaged either way, to the same samples.
@Test func decodeReducesJPEG2000ByAreaOnlyWhenAsked() throws {
    let chain = try EndToEndTests.Chain("reduce-by", pipeline: """
        stages:
          synth:  { run: mammoflow-synth, params: { patients: 6, seed: 3, scale: 0.08 } }
          decode: { run: mammoflow-decode, deps: [synth], params: { reduce: 2 } }
        """)
    var records: [String: [String: (metadata: JSONValue, samples: [UInt16])]] = [:]
    for method in ["levels", "area"] {
        let result = try chain.run(["run", "chain.yaml", "--set", "decode.reduce_by=\(method)"])
        try #require(result.status == 0, "run failed:\n\(result.output.suffix(3000))")
        let run = try #require(try chain.artifact("decode").first { $0.manifest.summary["reduce_by"] == .string(method) })
        var byKey: [String: (metadata: JSONValue, samples: [UInt16])] = [:]
        for file in run.manifest.shards {
            let reader = try ShardReader(path: Store(root: "\(chain.root)/cache").objectPath(file.sha256))
            for (i, metadata) in try reader.metadata().enumerated() {
                byKey[reader.entries[i].key] = (metadata, try ImagePayload(decoding: try reader.payload(at: i)).samples)
            }
        }
        records[method] = byKey
    }
    let levels = try #require(records["levels"]), area = try #require(records["area"])
    #expect(Set(levels.keys) == Set(area.keys) && !levels.isEmpty)
    var syntaxes: Set<String> = []
    for (key, level) in levels {
        let other = try #require(area[key])
        #expect(level.metadata["reduce_by"] == "levels" && other.metadata["reduce_by"] == "area")
        let syntax = try #require(level.metadata["dicom"]?["transfer_syntax"]?.stringValue)
        syntaxes.insert(syntax)
        if syntax.hasSuffix(".90") {
            #expect(level.samples != other.samples, "\(key): J2K by area should differ from its resolution level")
        } else {
            #expect(level.samples == other.samples, "\(key): \(syntax) is area-averaged either way")
        }
    }
    #expect(syntaxes.count == 2, "the cohort should hold both encodings: \(syntaxes)")
}
