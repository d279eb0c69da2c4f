#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Shards

/// Content-defined shard boundaries (`ShardBoundaries`) and a rerun's writer, which links every earlier shard
/// whose records come again unchanged and must still write exactly the shards a cold run writes.
@Suite struct ShardSequenceTests {
    let root = NSTemporaryDirectory() + "mammoflow-sequence-\(UUID().uuidString.prefix(8))"
    /// Small shards (about 16 KB) for records of 1-5 KB, as images of 400 KB are to 4 MiB.
    let boundaries = ShardBoundaries(targetBytes: 16 << 10)

    struct Record: Equatable {
        let key: String
        let payload: [UInt8]
    }

    /// `count` records of incompressible bytes, 1-5 KB each, keys "k0000"...; `seed` changes the bytes.
    func records(_ count: Int, seed: UInt64 = 1) -> [Record] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        return (0..<count).map { i in
            Record(key: String(format: "k%04d", i * 10), payload: (0..<(1000 + Int(next() % 4000))).map { _ in UInt8(truncatingIfNeeded: next()) })
        }
    }

    func folder(_ name: String) throws -> String {
        let path = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `records` from scratch; returns the shards, each opened, with its file as a manifest lists it.
    func coldRun(_ name: String, _ records: [Record], boundaries: ShardBoundaries? = nil) throws -> [(reader: ShardReader, file: ArtifactFile)] {
        let dir = try folder(name)
        let writer = ShardSequenceWriter(directory: dir, boundaries: boundaries ?? self.boundaries)
        for r in records { try writer.append(key: r.key, metadata: ["n": .int(Int64(r.payload.count))], payload: r.payload) }
        return try writer.finish().map { info in
            (try ShardReader(path: "\(dir)/\(info.name)"), ArtifactFile(path: info.name, sha256: info.sha256, size: info.size, records: info.records))
        }
    }

    /// Writes `records` as a rerun would: each one the earlier run wrote as it is now (in `before`) goes
    /// through `append(earlier:)`, the others are written. Returns the shards' names, how many were linked,
    /// and the keys whose frames were checked (copied).
    func warmRun(_ name: String, _ records: [Record], before: [Record], earlier: [(reader: ShardReader, file: ArtifactFile)]) throws
        -> (names: [String], linked: Int, checked: [String]) {
        var held: [String: EarlierRecord] = [:]
        for (reader, file) in earlier {
            let metadata = try reader.metadata()
            for i in 0..<reader.count {
                held[reader.entries[i].key] = EarlierRecord(shard: reader, file: file, index: i, metadata: metadata[i])
            }
        }
        var checked: [String] = []
        let writer = ShardSequenceWriter(directory: try folder(name), boundaries: boundaries) { record in
            checked.append(record.key)
            return try record.shard.verifiedFrame(at: record.index)
        }
        for r in records {
            if let old = held[r.key], before.contains(r) {
                try writer.append(earlier: old)
            } else {
                try writer.append(key: r.key, metadata: ["n": .int(Int64(r.payload.count))], payload: r.payload)
            }
        }
        let names = try writer.finish().map(\.name)
        return (names, writer.linked, checked)
    }

    @Test func shardsEndWhereTheRuleDrawsAKeyAndAverageTheirTarget() throws {
        let sequence = records(2000).map { (key: $0.key, frameLength: $0.payload.count) }
        let ends = boundaries.ends(of: sequence)
        var sizes: [Int] = [], start = 0
        for end in ends {
            sizes.append(sequence[start...end].reduce(0) { $0 + $1.frameLength })
            start = end + 1
        }
        #expect(sizes.allSatisfy { $0 >= boundaries.minimumBytes && $0 <= boundaries.maximumBytes + 5000 })
        let mean = Double(sizes.reduce(0, +)) / Double(sizes.count)
        #expect(mean > 0.7 * 16384 && mean < 1.4 * 16384, "mean shard \(mean) bytes")
        // The draw depends on the key and its frame only: the same record ends a shard wherever it stands,
        // once the shard holds the minimum.
        let last = sequence[ends[3]]
        #expect(boundaries.endsShard(bytes: boundaries.minimumBytes, afterKey: last.key, frameLength: last.frameLength))
        #expect(!boundaries.endsShard(bytes: boundaries.minimumBytes - 1, afterKey: last.key, frameLength: last.frameLength))
    }

    @Test func aRerunLinksTheShardsItDoesNotChangeAndWritesTheBytesOfAColdRun() throws {
        let before = records(300)
        let earlier = try coldRun("earlier", before)
        #expect(earlier.count > 15)
        // Three records added (one past the last key, so the earlier last shard cannot end where it did), one
        // deleted, one changed.
        var after = before
        after.remove(at: 120)
        after[200] = Record(key: after[200].key, payload: records(1, seed: 9)[0].payload)
        for (seed, key) in [(40, "k0395"), (250, "k2555"), (3, "k9999")] { after.append(Record(key: key, payload: records(1, seed: UInt64(seed))[0].payload)) }
        after.sort { $0.key < $1.key }

        let cold = try coldRun("cold", after).map(\.file.path)
        let warm = try warmRun("warm", after, before: before, earlier: earlier)
        #expect(warm.names == cold)
        let unchanged = Set(cold).intersection(earlier.map(\.file.path))
        #expect(warm.linked == unchanged.count && warm.linked >= earlier.count - 8, "\(warm.linked) of \(earlier.count) linked")
        // Linked shards are the earlier files themselves; only records of rewritten shards were read.
        for (reader, file) in earlier where unchanged.contains(file.path) {
            var a = stat(), b = stat()
            #expect(stat(reader.path, &a) == 0 && stat("\(root)/warm/\(file.path)", &b) == 0 && a.st_ino == b.st_ino)
        }
        #expect(warm.checked.count < 2 * before.count / earlier.count * 8, "\(warm.checked.count) records copied")

        // Nothing changed: every shard is linked and no record is read.
        let again = try warmRun("again", before, before: before, earlier: earlier)
        #expect(again.names == earlier.map(\.file.path) && again.linked == earlier.count && again.checked.isEmpty)
    }

    @Test func randomEditsAlwaysGiveTheColdRunsShards() throws {
        // Edits anywhere (first and last records, shard ends, several in a row), each a rerun of the last.
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var current = records(150)
        var earlier = try coldRun("round0", current)
        for round in 1 ... 12 {
            var edited = current
            for edit in 0 ..< 1 + next(4) {
                let i = next(edited.count)
                switch next(3) {
                case 0: edited.remove(at: i)
                case 1: edited[i] = Record(key: edited[i].key, payload: records(1, seed: UInt64(100 * round + i))[0].payload)
                default: edited.append(Record(key: "\(edited[i].key)-\(round)-\(edit)", payload: records(1, seed: UInt64(7 * round + i))[0].payload))
                }
            }
            edited.sort { $0.key < $1.key }
            let cold = try coldRun("cold\(round)", edited)
            let warm = try warmRun("warm\(round)", edited, before: current, earlier: earlier)
            #expect(warm.names == cold.map(\.file.path), "round \(round)")
            #expect(warm.linked == Set(cold.map(\.file.path)).intersection(earlier.map(\.file.path)).count && warm.linked > cold.count / 2,
                    "round \(round): \(warm.linked) of \(cold.count) linked")
            current = edited
            earlier = cold
        }
    }

    @Test func shardsAnotherRuleCutAreCopiedNotLinked() throws {
        let before = records(120)
        let earlier = try coldRun("earlier", before, boundaries: ShardBoundaries(targetBytes: 64 << 10))
        let warm = try warmRun("warm", before, before: before, earlier: earlier)
        #expect(warm.names == (try coldRun("cold", before)).map(\.file.path))
        #expect(warm.linked == 0 && warm.checked.count == before.count)
    }

    @Test func aDamagedEarlierRecordInARewrittenShardIsRefused() throws {
        let before = records(60)
        let earlier = try coldRun("earlier", before)
        // Damage the first shard's second record, then change its first record: the shard is rewritten.
        let (reader, _) = earlier[0]
        let entry = reader.entries[1]
        var bytes = try readFile(reader.path)
        bytes[entry.offset + entry.frameLength / 2] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: reader.path))
        var after = before
        after[0] = Record(key: after[0].key, payload: records(1, seed: 5)[0].payload)
        let error = #expect(throws: ShardError.self) { try warmRun("warm", after, before: before, earlier: earlier) }
        #expect(error?.reason.contains("record \"\(entry.key)\": SHA-256 mismatch") == true)
    }
}
