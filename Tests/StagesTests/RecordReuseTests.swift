#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Imaging
import Shards
import Testing
@testable import Stages

/// Record reuse in `mapImageRecords`, with hand-written jobs: a warm run that names an earlier artifact must
/// write the bytes a cold run writes, computing only the records whose own inputs changed.
@Suite struct RecordReuseTests {
    let dir = NSTemporaryDirectory() + "mammoflow-reuse-\(UUID().uuidString.prefix(8))"

    /// An input artifact of one shard: each record a small image whose samples are `value`, with metadata.
    func input(_ name: String, _ records: [(key: String, value: UInt16, view: String)]) throws -> ArtifactManifest {
        let folder = "\(dir)/\(name)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let writer = try ShardWriter(directory: folder)
        for r in records {
            var image = GrayImage(width: 9, height: 7, bits: 12, filledWith: r.value)
            image[2, 3] = r.value / 2
            try writer.append(key: r.key, metadata: ["view": .string(r.view)], payload: image.payload.encode(), elementSize: 2)
        }
        let info = try writer.finish()
        return ArtifactManifest(stage: "crop", files: [ArtifactFile(path: info.name, sha256: info.sha256, size: info.size,
                                                                    records: info.records, location: "\(folder)/\(info.name)")],
                                records: records.count)
    }

    /// Runs a flip-and-label stage over `input` into a fresh output; returns its manifest (files located) and
    /// the keys it computed.
    func run(_ name: String, _ input: ArtifactManifest, reuse: ArtifactManifest? = nil,
             slice: JobSlice? = nil) throws -> (manifest: ArtifactManifest, computed: [String]) {
        let output = "\(dir)/\(name)"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let context = try StageContext(job: StageJob(stage: "flip", params: [:], inputs: ["crop": input], output: output,
                                                     threads: 2, slice: slice, reuse: reuse))
        let computed = Computed()
        let written = try mapImageRecords(context, try context.records(of: input)) { ref, image in
            computed.add(ref.key)
            if ref.metadata["view"]?.stringValue == "CC" { return .unchanged(metadata: ref.metadata.adding(["flipped": false])) }
            return .image(image.flippedHorizontally(), metadata: ref.metadata.adding(["flipped": true]))
        }
        var manifest = try context.finish(records: written)
        manifest.files = manifest.files.map {
            ArtifactFile(path: $0.path, sha256: $0.sha256, size: $0.size, records: $0.records, location: "\(output)/\($0.path)")
        }
        return (manifest, computed.keys.sorted())
    }

    final class Computed: @unchecked Sendable {
        let lock = NSLock()
        var keys: [String] = []
        func add(_ key: String) { lock.withLock { keys.append(key) } }
    }

    @Test func onlyNewAndChangedRecordsAreComputedAndTheBytesAreAColdRuns() throws {
        let before = try input("in1", [("a", 100, "MLO"), ("b", 200, "CC"), ("c", 300, "MLO"), ("d", 400, "MLO")])
        let earlier = try run("earlier", before).manifest
        // b's pixels change, c is deleted, e is new, d's metadata changes; a is as it was.
        let after = try input("in2", [("a", 100, "MLO"), ("b", 201, "CC"), ("d", 400, "CC"), ("e", 500, "MLO")])
        let cold = try run("cold", after)
        let warm = try run("warm", after, reuse: earlier)
        #expect(cold.computed == ["a", "b", "d", "e"])
        #expect(warm.computed == ["b", "d", "e"])
        #expect(warm.manifest.contentID == cold.manifest.contentID)
        #expect(warm.manifest.files.map(\.sha256) == cold.manifest.files.map(\.sha256))
        // The copied record is the earlier one, and c is gone.
        let reader = try ShardReader(path: try #require(warm.manifest.files.first?.location))
        #expect(reader.entries.map(\.key) == ["a", "b", "d", "e"])

        // Nothing changed: everything is copied.
        #expect(try run("again", after, reuse: warm.manifest).computed == [])
    }

    @Test func eachSliceCopiesFromTheWholeEarlierArtifact() throws {
        let before = try input("in1", (0..<6).map { (key: "k\($0)", value: UInt16(100 + $0), view: "MLO") })
        let earlier = try run("earlier", before).manifest
        // A new first record moves every later one to the other slice.
        let after = try input("in2", [(key: "a", value: 7, view: "MLO")] + (0..<6).map { (key: "k\($0)", value: UInt16(100 + $0), view: "MLO") })
        for index in 0..<2 {
            let slice = JobSlice(index: index, count: 2)
            let cold = try run("cold\(index)", after, slice: slice)
            let warm = try run("warm\(index)", after, reuse: earlier, slice: slice)
            #expect(warm.manifest.contentID == cold.manifest.contentID)
            #expect(warm.computed == (index == 0 ? ["a"] : []))
        }
    }

    @Test func aDamagedEarlierRecordFailsTheJobRatherThanBeCopied() throws {
        let before = try input("in1", [("a", 100, "MLO"), ("b", 200, "MLO")])
        let earlier = try run("earlier", before).manifest
        let shard = try #require(earlier.files.first?.location)
        let entry = try #require(try ShardReader(path: shard).entries.first { $0.key == "b" })
        var bytes = try readFile(shard)
        bytes[entry.offset + entry.frameLength / 2] ^= 0x40
        chmod(shard, 0o644)
        try Data(bytes).write(to: URL(fileURLWithPath: shard))
        // a changes, so its shard is written again and b copied into it: b's frame is checked and refused. (An
        // unchanged shard is linked unread: the scheduler's commit hashes it, RecordReuseRunTests.)
        let after = try input("in2", [("a", 101, "MLO"), ("b", 200, "MLO")])
        let error = #expect(throws: InputIntegrityError.self) { try run("warm", after, reuse: earlier) }
        #expect(error?.file == shard)
        #expect(error?.description.contains("record \"b\": SHA-256 mismatch") == true)
    }
}
