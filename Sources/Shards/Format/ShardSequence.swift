#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where a stage's writer ends one shard and starts the next: after a record chosen by its key, so that cut
/// points move with the records, not with byte counts from the first record (content-defined chunking, as in
/// rsync and restic). A record added, changed or deleted then changes the shard it lands in, seldom the next,
/// and every other shard keeps its bytes and name: a rerun links those instead of writing them.
///
/// A shard ends after a record once its frames hold `minimumBytes` and the record's key is drawn: the first
/// 8 bytes of the key's SHA-256, as a little-endian integer, fall below 2^64 x (the record's frame bytes) /
/// `spreadBytes`. Each stored byte past the minimum thus ends the shard with the same chance, and shards
/// average about `minimumBytes + spreadBytes` whatever the record size. A shard always ends past `maximumBytes`.
public struct ShardBoundaries: Sendable, Equatable {
    public let minimumBytes: Int
    public let spreadBytes: Int
    public let maximumBytes: Int

    /// Shards of about `targetBytes`: half of it the minimum, half the spread, at most 8 times it.
    public init(targetBytes: Int) {
        minimumBytes = targetBytes / 2
        spreadBytes = max(1, targetBytes - targetBytes / 2)
        maximumBytes = 8 * targetBytes
    }

    /// About 4 MiB, 10 images at 1/4 size: adding 20 images to 2,000 rewrites about 20 of 200 shards
    /// (docs/stage-contract.md, "Linking"), and 54,706 images make about 5,000 files per stage.
    public static let standard = ShardBoundaries(targetBytes: 4 << 20)

    /// Whether a shard whose frames hold `bytes` ends after its last record, `key`, stored in `frameLength` bytes.
    public func endsShard(bytes: Int, afterKey key: String, frameLength: Int) -> Bool {
        if bytes >= maximumBytes { return true }
        guard bytes >= minimumBytes else { return false }
        if frameLength >= spreadBytes { return true }
        let draw = Digest.sha256(Array(key.utf8)).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        return draw < UInt64(frameLength) * (UInt64.max / UInt64(spreadBytes))
    }

    /// Where this rule ends shards in a sequence of records (keys and frame lengths): the indexes of the last
    /// record of each shard it ends (the sequence's last, if the rule does not end it, is not listed).
    public func ends(of records: [(key: String, frameLength: Int)]) -> [Int] {
        var bytes = 0, ends: [Int] = []
        for (i, record) in records.enumerated() {
            bytes += record.frameLength
            if endsShard(bytes: bytes, afterKey: record.key, frameLength: record.frameLength) {
                ends.append(i)
                bytes = 0
            }
        }
        return ends
    }
}

/// A record of an earlier artifact that a rerun writes unchanged: its shard (and that shard's entry in the
/// earlier manifest), its place there and its metadata as stored.
public struct EarlierRecord: @unchecked Sendable {
    public let shard: ShardReader
    public let file: ArtifactFile
    public let index: Int
    public let metadata: JSONValue
    public init(shard: ShardReader, file: ArtifactFile, index: Int, metadata: JSONValue) {
        self.shard = shard
        self.file = file
        self.index = index
        self.metadata = metadata
    }
    public var key: String { shard.entries[index].key }
}

/// Writes a key-ordered stream of records as a sequence of shards cut by `ShardBoundaries`.
///
/// Records an earlier artifact holds unchanged (`append(earlier:)`, a rerun) are copied as stored, each
/// frame checked by `verify` first, except where a whole earlier shard comes in a row from a shard boundary:
/// writing it would give that shard's bytes again (same records, same rule), so its file is hard-linked
/// instead and nothing of it is read. Its integrity is then the scheduler's commit check, which hashes every
/// file of an artifact against its name.
public final class ShardSequenceWriter {
    public let directory: String
    public let boundaries: ShardBoundaries
    public let level: Int32
    /// An earlier record's frame, checked against its shard's index (a damaged one throws: never copied).
    private let verify: (EarlierRecord) throws -> VerifiedFrame
    private var current: ShardWriter?
    /// Earlier records in a row from the first of one earlier shard, with no shard open: linked once the
    /// whole shard has come, copied as soon as another record breaks the row.
    private var pending: [EarlierRecord] = []
    public private(set) var finished: [ShardInfo] = []
    /// Shards linked from an earlier artifact rather than written.
    public private(set) var linked = 0

    public init(directory: String, boundaries: ShardBoundaries = .standard, level: Int32 = ShardFormat.defaultLevel,
                verify: @escaping (EarlierRecord) throws -> VerifiedFrame = { try $0.shard.verifiedFrame(at: $0.index) }) {
        self.directory = directory
        self.boundaries = boundaries
        self.level = level
        self.verify = verify
    }

    public func append(key: String, metadata: JSONValue = .object([:]), payload: [UInt8], elementSize: Int = 1) throws {
        try appending { try $0.append(key: key, metadata: metadata, payload: payload, elementSize: elementSize) }
    }

    /// `ShardWriter.append(key:metadata:compressed:)`: a record compressed by its producer.
    public func append(key: String, metadata: JSONValue, compressed record: CompressedRecord) throws {
        try appending { try $0.append(key: key, metadata: metadata, compressed: record) }
    }

    /// Appends a record copied from another shard as it is stored (`ShardWriter.append(key:metadata:stored:)`).
    public func append(key: String, metadata: JSONValue, stored: VerifiedFrame) throws {
        try appending { try $0.append(key: key, metadata: metadata, stored: stored) }
    }

    /// Appends a record an earlier artifact holds, unchanged: linked with its whole shard when that shard
    /// comes in a row from a boundary, else copied (its frame checked by `verify`).
    public func append(earlier record: EarlierRecord) throws {
        if let first = pending.first {
            if record.shard === first.shard && record.index == pending.count {
                pending.append(record)
                return try linkPendingIfWhole(atEnd: false)
            }
            try copyPending()
        }
        if current == nil && record.index == 0 {
            pending = [record]
            return try linkPendingIfWhole(atEnd: false)
        }
        try copy(record)
    }

    private func copy(_ record: EarlierRecord) throws {
        let frame = try verify(record)
        try appending { try $0.append(key: record.key, metadata: record.metadata, stored: frame) }
    }

    /// Links the pending shard when all of it has come and writing it would end where it ends: mid-stream
    /// where the rule ends it, at the end of the stream in any case (it was the earlier artifact's last).
    private func linkPendingIfWhole(atEnd: Bool) throws {
        guard let shard = pending.first?.shard, pending.count == shard.count else { return }
        let ends = boundaries.ends(of: shard.entries.map { ($0.key, $0.frameLength) })
        let endsAtLast = ends == [shard.count - 1], endsNowhere = ends.isEmpty
        guard endsAtLast || (atEnd && endsNowhere) else {
            // Not made by this rule from a boundary (another writer's shard): its records are copied.
            if !endsNowhere || atEnd { try copyPending() }
            return
        }
        finished.append(try ShardInfo.linking(pending[0].file, from: shard.path, into: directory))
        linked += 1
        pending = []
    }

    private func copyPending() throws {
        let records = pending
        pending = []
        for record in records { try copy(record) }
    }

    /// Runs `body` on the open shard (opening one first, after any pending records), then ends the shard
    /// where the rule says.
    private func appending(_ body: (ShardWriter) throws -> Void) throws {
        if !pending.isEmpty { try copyPending() }
        if current == nil { current = try ShardWriter(directory: directory, level: level) }
        let writer = current!
        let before = writer.bytesWritten
        try body(writer)
        guard let key = writer.lastKey else { return }
        if boundaries.endsShard(bytes: writer.bytesWritten, afterKey: key, frameLength: writer.bytesWritten - before) {
            finished.append(try writer.finish())
            current = nil
        }
    }

    /// Finishes the open shard, if any, and returns every shard written or linked, in key order.
    public func finish() throws -> [ShardInfo] {
        if !pending.isEmpty { try linkPendingIfWhole(atEnd: true) }
        if !pending.isEmpty { try copyPending() }
        if let open = current {
            finished.append(try open.finish())
            current = nil
        }
        return finished
    }
}

extension ShardInfo {
    /// A shard another artifact lists (`file`, read at `location`), hard-linked into `directory` under the
    /// name that artifact gives it (copied where a link cannot be made: another filesystem), listed with that
    /// artifact's hash and size: nothing is read or hashed again.
    public static func linking(_ file: ArtifactFile, from location: String, into directory: String) throws -> ShardInfo {
        let to = "\(directory)/\(file.path)"
        if link(location, to) != 0 {
            do { try FileManager.default.copyItem(atPath: location, toPath: to) } catch {
                throw FileError(path: to, reason: "cannot link or copy \(location) there: \(error)")
            }
        }
        return ShardInfo(name: file.path, sha256: file.sha256, size: file.size, records: file.records ?? 0, firstKey: nil, lastKey: nil)
    }
}
