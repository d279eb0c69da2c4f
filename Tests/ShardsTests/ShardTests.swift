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

/// Bytes zstd cannot compress (so they are stored as a raw block, where a flipped byte still decodes).
private func noise(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// A shard of records "r00"... with the given payloads; returns its path.
private func shard(of payloads: [[UInt8]]) throws -> String {
    let dir = try temporaryDirectory()
    let writer = try ShardWriter(directory: dir)
    for (i, payload) in payloads.enumerated() { try writer.append(key: String(format: "r%02d", i), payload: payload) }
    return "\(dir)/\(try writer.finish().name)"
}

/// Flips one byte in the middle of record `i`'s frame (inside its raw block for noise payloads).
private func flipByte(inRecord i: Int, of path: String) throws {
    let e = try ShardReader(path: path).entries[i]
    var bytes = try readFile(path)
    bytes[e.offset + e.frameLength / 2] ^= 0x01
    try writeFileAtomically(path, bytes)
}

@Test func flippedByteThatStillDecodesIsCaughtBySHA256() throws {
    let path = try shard(of: [noise(1000, seed: 1)])
    try flipByte(inRecord: 0, of: path)
    let reader = try ShardReader(path: path)
    #expect { _ = try reader.payload(at: 0) } throws: { "\($0)".contains("record \"r00\": SHA-256 mismatch") }
    #expect { try reader.forEachPayload([0]) { _, _ in } } throws: { "\($0)".contains("SHA-256 mismatch") }
    // Unverified reads still have zstd's XXH64 content checksum.
    #expect { _ = try reader.payload(at: 0, verify: false) } throws: { "\($0)".contains("checksum") }
}

@Test func indexHoldsEachFramesSHA256AndOlderVersionsAreRefused() throws {
    let path = try shard(of: [noise(5000, seed: 5), [1, 2, 3]])
    let bytes = try readFile(path)
    for e in try ShardReader(path: path).entries {
        #expect(e.sha256 == Digest.sha256(Array(bytes[e.offset..<e.offset + e.frameLength])))
    }
    var version1 = bytes
    version1[bytes.count - ShardFormat.footerSize + 8] = 1
    try writeFileAtomically(path, version1)
    #expect { _ = try ShardReader(path: path) } throws: { "\($0)".contains("version 1") }
    var version2 = bytes
    version2[bytes.count - ShardFormat.footerSize + 8] = 2
    try writeFileAtomically(path, version2)
    #expect { _ = try ShardReader(path: path) } throws: { "\($0)".contains("version 2; this reader knows 3 (rerun the stage") }
}

@Test func shuffledRecordsRoundTripInOnePartOrManyAndCompressBetter() throws {
    // 16-bit samples of a smooth ramp plus noise in the low bits: the high bytes form long runs once shuffled.
    func samples(_ count: Int) -> [UInt8] {
        let low = noise(count, seed: 9)
        return (0..<count).map { $0 % 2 == 0 ? low[$0] : UInt8(truncatingIfNeeded: $0 >> 14) }
    }
    let small = samples(300_001), large = samples(ShardWriter.partSize * 5 / 2 + 1)
    let dir = try temporaryDirectory()
    let writer = try ShardWriter(directory: dir)
    try writer.append(key: "a-plain", metadata: [:], payload: large)
    try writer.append(key: "b-large", metadata: [:], payload: large, elementSize: 2)
    try writer.append(key: "c-small", metadata: [:], payload: small, elementSize: 2)
    try writer.append(key: "d-float", metadata: [:], payload: small, elementSize: 4)
    #expect(throws: ShardError.self) { try writer.append(key: "e", metadata: [:], payload: small, elementSize: 0) }
    let reader = try ShardReader(path: "\(dir)/\(try writer.finish().name)")
    #expect(reader.entries.map(\.elementSize) == [1, 2, 2, 4])
    #expect(reader.entries[1].frameLength < reader.entries[0].frameLength * 3 / 4)
    #expect(try reader.payload(at: 1) == large)
    #expect(try reader.payload(at: 2) == small)
    #expect(try reader.payload(at: 3) == small)
    var seen: [Int] = []
    try reader.forEachPayload([3, 1, 2, 0]) { i, payload in
        seen.append(i)
        #expect(Array(payload) == (i == 0 || i == 1 ? large : small))
    }
    #expect(seen == [3, 1, 2, 0])
}

@Test func anIndexEntryWithElementSizeZeroIsCorrupt() throws {
    let path = try shard(of: [[1, 2, 3]])
    var bytes = try readFile(path)
    let footer = bytes.count - ShardFormat.footerSize
    let indexOffset = bytes[footer + 48..<footer + 56].reversed().reduce(0) { $0 << 8 | Int($1) }
    // Entry 0: u16 key length, key "r00", three u64, then the element size.
    bytes[indexOffset + 2 + 3 + 24] = 0
    try writeFileAtomically(path, bytes)
    #expect { _ = try ShardReader(path: path) } throws: { "\($0)".contains("element size 0") }
}

@Test func forEachPayloadMatchesPayloadAtInAnyOrder() throws {
    // Multi-block records (zstd blocks are at most 128 KiB), an empty one, compressible and not.
    let payloads = [noise(300_000, seed: 2), [], (0..<500_000).map { UInt8(truncatingIfNeeded: $0 / 3) },
                    noise(17, seed: 3), noise(200_000, seed: 4) + [UInt8](repeating: 7, count: 400_000)]
    let reader = try ShardReader(path: try shard(of: payloads))
    let order = [4, 1, 0, 2, 3, 0]
    var seen: [Int] = []
    try reader.forEachPayload(order) { i, payload in
        seen.append(i)
        #expect(Array(payload) == payloads[i])
    }
    #expect(seen == order)
    for i in payloads.indices { #expect(try reader.payload(at: i) == payloads[i]) }
    // The reader keeps its payload buffers between calls: small ones must not serve larger records later.
    for call in [[3], [2, 4], [3, 3]] {
        try reader.forEachPayload(call) { i, payload in #expect(Array(payload) == payloads[i]) }
    }
}

@Test func oneReaderServesManyThreadsAtOnce() throws {
    // Its zstd contexts and payload buffers are pooled: concurrent callers must each get their own.
    let payloads = (0..<6).map { noise(70_000 * ($0 + 1), seed: UInt64($0) + 20) }
    let reader = try ShardReader(path: try shard(of: payloads))
    let failures = NSLock()
    var wrong = 0
    DispatchQueue.concurrentPerform(iterations: 24) { n in
        let ok: Bool
        if n % 2 == 0 {
            ok = (try? reader.payload(at: n % 6)) == payloads[n % 6]
        } else {
            var all = true
            let order = [(n + 1) % 6, n % 6, (n + 3) % 6]
            do {
                try reader.forEachPayload(order) { i, payload in all = all && Array(payload) == payloads[i] }
            } catch { all = false }
            ok = all
        }
        if !ok { failures.withLock { wrong += 1 } }
    }
    #expect(wrong == 0)
}

@Test func forEachPayloadStopsAtTheCorruptRecordAfterDeliveringTheOnesBefore() throws {
    let payloads = (0..<5).map { noise(150_000, seed: UInt64($0) + 10) }
    let path = try shard(of: payloads)
    try flipByte(inRecord: 3, of: path)
    var delivered: [Int] = []
    #expect {
        try ShardReader(path: path).forEachPayload(Array(0..<5)) { i, _ in delivered.append(i) }
    } throws: { "\($0)".contains("record \"r03\": SHA-256 mismatch") }
    #expect(delivered == [0, 1, 2])
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

@Test func largeRecordsAreStoredAsPartsThatDecodeInParallel() throws {
    // 2.5 parts: two full 1 MiB frames and a half one, each a complete zstd frame declaring its size.
    let large = noise(ShardWriter.partSize * 5 / 2, seed: 6)
    let path = try shard(of: [large, noise(ShardWriter.partSize, seed: 7)])
    // Parts are compressed on several cores, each its own frame: the bytes are the same every time.
    let again = try shard(of: [large, noise(ShardWriter.partSize, seed: 7)])
    #expect(URL(fileURLWithPath: again).lastPathComponent == URL(fileURLWithPath: path).lastPathComponent)
    let reader = try ShardReader(path: path)
    let stored = try readFile(path)
    let e = reader.entries[0]
    let parts = try stored[e.offset..<e.offset + e.frameLength].withUnsafeBytes {
        try ZstdPart.split($0, expectedSize: e.rawLength).map { [$0.contentOffset, $0.contentSize] }
    }
    #expect(parts == [[0, 1 << 20], [1 << 20, 1 << 20], [2 << 20, 1 << 19]])
    #expect(try reader.payload(at: 0) == large)
    try reader.forEachPayload([1, 0]) { i, payload in #expect(i == 1 || Array(payload) == large) }
    // A record of exactly one part size stays one frame.
    let one = reader.entries[1]
    let single = try stored[one.offset..<one.offset + one.frameLength].withUnsafeBytes {
        try ZstdPart.split($0, expectedSize: one.rawLength)
    }
    #expect(single.count == 1)
    // Frames that declare fewer or more bytes than the index says are an error, not a short or long read.
    stored[e.offset..<e.offset + e.frameLength].withUnsafeBytes { record in
        #expect { _ = try ZstdPart.split(record, expectedSize: e.rawLength + 1) } throws: { "\($0)".contains("index says") }
        #expect { _ = try ZstdPart.split(record, expectedSize: e.rawLength - 1) } throws: { "\($0)".contains("more than") }
    }
}

@Test func aStoredFrameCopiedIntoAnotherShardGivesTheBytesOfAFreshAppend() throws {
    // Records of several sizes and element sizes, one above 1 MiB (stored as parts).
    let payloads: [(String, [UInt8], Int)] = [
        ("a", (0..<3000).map { UInt8(truncatingIfNeeded: $0 / 7) }, 2),
        ("b", (0..<(ShardWriter.partSize + 12345)).map { UInt8(truncatingIfNeeded: $0 / 300) }, 2),
        ("c", Array("plain bytes".utf8), 1),
    ]
    let dir = try temporaryDirectory()
    let fresh = try ShardWriter(directory: dir)
    for (key, payload, k) in payloads { try fresh.append(key: key, metadata: ["k": .int(Int64(k))], payload: payload, elementSize: k) }
    let original = try ShardReader(path: "\(dir)/\(try fresh.finish().name)")

    let copyDir = try temporaryDirectory()
    let copier = try ShardWriter(directory: copyDir)
    for (i, (key, _, k)) in payloads.enumerated() {
        try copier.append(key: key, metadata: ["k": .int(Int64(k))], stored: try original.verifiedFrame(at: i))
    }
    let copied = try copier.finish()
    #expect("\(copyDir)/\(copied.name)" != original.path && copied.name == (original.path as NSString).lastPathComponent)
    let reader = try ShardReader(path: "\(copyDir)/\(copied.name)")
    for (i, (_, payload, _)) in payloads.enumerated() { #expect(try reader.payload(at: i) == payload) }
}

@Test func aDamagedFrameIsNotHandedOutForCopying() throws {
    let dir = try temporaryDirectory()
    let writer = try ShardWriter(directory: dir)
    try writer.append(key: "a", payload: Array(repeating: 7, count: 500))
    let path = "\(dir)/\(try writer.finish().name)"
    var bytes = try readFile(path)
    bytes[3] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: ShardError.self) { try ShardReader(path: path).verifiedFrame(at: 0) }
    #expect(error?.reason.contains("SHA-256 mismatch") == true)
}

@Test func recordsCompressedByTheirProducerOrCopiedAsStoredGiveTheSameShardBytes() throws {
    // Records of one part and of several (16-bit samples, shuffled), with the empty one.
    let payloads: [[UInt8]] = [[], noise(3000, seed: 1), (0..<(ShardWriter.partSize * 2 + 777)).map { UInt8(truncatingIfNeeded: $0 / 3) }]
    let keys = ["a", "b", "c"]
    let plainDir = try temporaryDirectory(), plain = try ShardWriter(directory: plainDir)
    for (key, payload) in zip(keys, payloads) { try plain.append(key: key, metadata: ["n": 1], payload: payload, elementSize: 2) }
    let plainInfo = try plain.finish()

    let compressedDir = try temporaryDirectory(), compressed = try ShardWriter(directory: compressedDir)
    for (key, payload) in zip(keys, payloads) {
        let record = try payload.withUnsafeBytes { try CompressedRecord(payload: $0, elementSize: 2) }
        try compressed.append(key: key, metadata: ["n": 1], compressed: record)
    }
    #expect(try compressed.finish().name == plainInfo.name)

    let source = try ShardReader(path: "\(plainDir)/\(plainInfo.name)")
    let copiedDir = try temporaryDirectory(), copied = try ShardWriter(directory: copiedDir)
    for i in 0..<source.count { try copied.append(key: keys[i], metadata: ["n": 1], stored: try source.verifiedFrame(at: i)) }
    #expect(try copied.finish().name == plainInfo.name)
}

@Test func anOpenReaderHoldsNoFileDescriptor() throws {
    // A stage opens every shard of its input at once: thousands at RSNA's size, past a limit of 1,024 open files.
    let dir = try temporaryDirectory()
    let path = try { () throws -> String in
        let writer = try ShardWriter(directory: dir)  // its descriptor closes with it, at the end of this closure
        try writer.append(key: "a", metadata: ["n": 1], payload: Array(repeating: 3, count: 5000))
        return "\(dir)/\(try writer.finish().name)"
    }()
    let readers = try (0..<3).map { _ in try ShardReader(path: path) }
    let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
    #expect(!open.contains(path), "a reader keeps \(path) open")
    for reader in readers {
        #expect(try reader.payload(at: 0) == Array(repeating: 3, count: 5000))
        #expect(try reader.metadata()[0]["n"]?.intValue == 1)
    }
}

/// The image payload format written out sample by sample from its spec (docs/shard-format.md): the reference the
/// vectorised encoder and decoder are checked against, byte for byte.
private func referencePayload(_ image: ImagePayload, filter: Bool) -> [UInt8] {
    var out = ImagePayload.magic
    for v in [UInt32(image.width), UInt32(image.height)] { out += withUnsafeBytes(of: v.littleEndian, Array.init) }
    out += [UInt8(image.bytesPerSample), filter ? 1 : 0]
    out += withUnsafeBytes(of: UInt16(image.bits).littleEndian, Array.init)
    for y in 0..<image.height {
        for x in 0..<image.width {
            let v = image.samples[y * image.width + x]
            let stored = filter && x > 0 ? v &- image.samples[y * image.width + x - 1] : v
            out += image.bytesPerSample == 1 ? [UInt8(truncatingIfNeeded: stored)] : [UInt8(stored & 0xFF), UInt8(stored >> 8)]
        }
    }
    return out
}

@Test func imagePayloadsAreTheSpecsBytesAndDecodeBack() throws {
    var random = SystemRandomNumberGenerator()
    for (w, h, bits) in [(1, 1, 1), (1, 5, 16), (7, 3, 8), (33, 9, 12), (64, 2, 16), (3, 4, 7), (0, 3, 12)] {
        let top = UInt16((1 << bits) - 1)
        let samples = (0 ..< w * h).map { _ in UInt16.random(in: 0...top, using: &random) }
        let image = ImagePayload(width: w, height: h, bits: bits, samples: samples)
        for filter in [true, false] {
            let bytes = image.encode(filter: filter)
            #expect(bytes == referencePayload(image, filter: filter), "\(w)x\(h), \(bits) bits, filter \(filter)")
            if w > 0 { #expect(try ImagePayload(decoding: bytes) == image) }
        }
    }
}
