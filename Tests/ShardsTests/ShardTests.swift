import Foundation
import Testing
@testable import Shards

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "mammoflow-shards-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Test func shardRoundTripsRecordsMetadataAndIsDeterministic() throws {
    var names: [String] = []
    for _ in 0..<2 {
        let dir = try temporaryDirectory()
        let writer = try ShardWriter(directory: dir)
        for i in 0..<50 {
            let payload = (0..<(i * 37)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
            try writer.append(key: String(format: "img-%04d", i), metadata: ["n": .int(Int64(i)), "view": "CC"], payload: payload)
        }
        let info = try writer.finish()
        names.append(info.name)
        #expect(info.records == 50)
        #expect(try Digest.sha256Hex(file: "\(dir)/\(info.name)") == info.sha256)

        let reader = try ShardReader(path: "\(dir)/\(info.name)")
        #expect(reader.count == 50)
        let i = try #require(reader.index(of: "img-0017"))
        #expect(try reader.payload(at: i) == (0..<(17 * 37)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 17) })
        let metadata = try reader.metadata()
        #expect(metadata[17]["key"]?.stringValue == "img-0017")
        #expect(metadata[17]["n"]?.intValue == 17)
    }
    #expect(names[0] == names[1])
}

@Test func shardWriterRefusesUnorderedKeys() throws {
    let writer = try ShardWriter(directory: try temporaryDirectory())
    try writer.append(key: "b", payload: [1])
    #expect(throws: ShardError.self) { try writer.append(key: "a", payload: [2]) }
}

@Test func corruptRecordIsCaughtByItsHash() throws {
    let dir = try temporaryDirectory()
    let writer = try ShardWriter(directory: dir)
    try writer.append(key: "a", payload: [UInt8](repeating: 9, count: 1000))
    let info = try writer.finish()
    var bytes = try readFile("\(dir)/\(info.name)")
    // Flip a byte inside the first record's frame (after the 4-byte zstd magic and frame header).
    bytes[8] ^= 0xFF
    try writeFileAtomically("\(dir)/\(info.name)", bytes)
    let reader = try ShardReader(path: "\(dir)/\(info.name)")
    #expect(throws: ShardError.self) { _ = try reader.payload(at: 0) }
}

@Test func imagePayloadRoundTripsWithDifferenceFilter() throws {
    let w = 13, h = 7
    let samples = (0..<(w * h)).map { UInt16(($0 * 977) % 4096) }
    let image = ImagePayload(width: w, height: h, bits: 12, samples: samples)
    #expect(try ImagePayload(decoding: image.encode()) == image)
    #expect(try ImagePayload(decoding: image.encode(filter: false)) == image)
    let small = ImagePayload(width: w, height: h, bits: 8, samples: samples.map { $0 & 0xFF })
    #expect(try ImagePayload(decoding: small.encode()) == small)
}

@Test func canonicalJSONSortsKeysAndRoundTrips() throws {
    let value: JSONValue = ["b": [1, 2.5, "x\n\"y\""], "a": ["z": nil, "y": true], "c": -7]
    #expect(value.canonicalText == #"{"a":{"y":true,"z":null},"b":[1,2.5,"x\n\"y\""],"c":-7}"#)
    #expect(try JSONValue.parse(value.canonicalText) == value)
    #expect(try JSONValue.parse(#" {"u":"\u00e9\ud83d\ude00"} "#)["u"]?.stringValue == "é😀")
    #expect(throws: JSONValue.ParseError.self) { _ = try JSONValue.parse("{\"a\":1,}") }
}
