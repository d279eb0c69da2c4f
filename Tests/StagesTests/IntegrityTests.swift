#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Imaging
import Shards
import StageTesting
import Testing
@testable import Stages

/// A one-shard input artifact of small images, keys "a", "b", "c", and a context whose job reads it.
private func contextReadingThreeImages(_ name: String = #function) throws -> (StageContext, ArtifactManifest, shard: String) {
    let dir = NSTemporaryDirectory() + "mammoflow-stages-\(name.prefix(while: { $0 != "(" }))-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: "\(dir)/out", withIntermediateDirectories: true)
    let input = try StageHarness.inputArtifact(["a", "b", "c"].enumerated().map { i, key in
        let image = GrayImage(width: 8, height: 6, bits: 12, filledWith: UInt16(100 * (i + 1)))
        return InputRecord(key: key, metadata: ["file": .string("\(key).dcm")], payload: image.payload.encode(), elementSize: 2)
    }, in: dir, stage: "crop")
    let job = StageJob(stage: "pectoral", params: [:], inputs: ["crop": input], output: "\(dir)/out", threads: 2)
    return (try StageContext(job: job), input, input.files[0].location!)
}

/// Flips one byte of record `key`'s stored frame, as a failing disk or a stray write would.
private func damageRecord(_ key: String, of path: String) throws {
    let entry = try #require(try ShardReader(path: path).entries.first { $0.key == key })
    var bytes = try readFile(path)
    bytes[entry.offset + entry.frameLength / 2] ^= 0x40
    chmod(path, 0o644)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

@Test func aDamagedInputRecordFailsTheJobNamingTheFileAndVerify() throws {
    let (context, input, shard) = try contextReadingThreeImages()
    try damageRecord("b", of: shard)
    let refs = try context.records(of: input)
    do {
        _ = try mapImageRecords(context, refs) { ref, _ in .unchanged(metadata: ref.metadata) }
        Issue.record("a corrupt input record must not be a per-record reject")
    } catch let error as InputIntegrityError {
        #expect(error.file == shard)
        #expect(error.reason.contains("record \"b\": SHA-256 mismatch"))
        #expect(error.description.contains(shard))
    }
}

@Test func anUnreadableInputShardIsAnIntegrityFailure() throws {
    let (context, input, shard) = try contextReadingThreeImages()
    chmod(shard, 0o644)
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: shard))
    #expect(throws: InputIntegrityError.self) { try context.records(of: input) }
}

@Test func anIntegrityFailureInAStoreObjectPointsAtVerify() {
    let object = InputIntegrityError(file: "/c/objects/ab/ab12", reason: "SHA-256 mismatch")
    #expect(object.description.contains("mammoflow verify"))
    let source = InputIntegrityError(file: "/data/rsna/train_images/1/2.dcm", reason: "SHA-256 is x")
    #expect(source.description.contains("changed after it was listed"))
}

@Test func aRecordTheStageCannotProcessIsStillAReject() throws {
    let (context, input, _) = try contextReadingThreeImages()
    struct Unusable: Error {}
    let written = try mapImageRecords(context, try context.records(of: input)) { ref, _ in
        if ref.key == "b" { throw Unusable() }
        return .unchanged(metadata: ref.metadata)
    }
    #expect(written == 2)
    let manifest = try context.finish(records: written)
    #expect(manifest.rejects.map(\.key) == ["b"])
    #expect(manifest.rejects.first?.file == "b.dcm")
}

@Test func aDamagedInputTableIsAnIntegrityFailureNotWrongRows() throws {
    let dir = NSTemporaryDirectory() + "mammoflow-stages-table-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let text = Array("patient_id,image_id,cancer\n1,10,0\n".utf8)
    try Data(text).write(to: URL(fileURLWithPath: "\(dir)/train.csv"))
    let listed = ArtifactFile(path: "train.csv", sha256: Digest.sha256Hex(text), size: text.count, location: "\(dir)/train.csv")
    let input = ArtifactManifest(stage: "synth", files: [listed], records: 1)
    let context = try StageContext(job: StageJob(stage: "folds", params: [:], inputs: ["synth": input], output: dir, threads: 1))
    #expect(try context.verifiedContents(of: listed) == text)
    try Data("patient_id,image_id,cancer\n1,10,1\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/train.csv"))
    let error = #expect(throws: InputIntegrityError.self) { try context.verifiedContents(of: listed) }
    #expect(error?.file == "\(dir)/train.csv")
}
