#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The shard file format, version 3 (docs/shard-format.md is the normative spec).
///
///     [record frames]   per record, in key order: one zstd frame, or consecutive frames of 1 MiB raw each
///                       for a larger record (decoded in parallel); each part byte-shuffled first when the
///                       record's element size is above 1
///     [metadata frame]  one zstd frame: JSON lines, one canonical object per record, in key order
///     [index]           per record: u16 key length, key (UTF-8), u64 offset, u64 frame length,
///                       u64 raw length, u8 element size, 32-byte SHA-256 of the record's frame (its stored bytes)
///     [footer]          64 bytes: magic "MFSHARD\0", u32 version, u32 flags, u64 record count,
///                       u64 metadata offset, u64 metadata frame length, u64 metadata raw length,
///                       u64 index offset, u64 index length
/// All integers little-endian. No timestamps: equal records give equal bytes.
public enum ShardFormat {
    public static let magic: [UInt8] = Array("MFSHARD\0".utf8)
    /// 3: records may be byte-shuffled (the index holds their element size); 2: the index holds each record
    /// frame's SHA-256; version 1 held the raw payload's (see the spec).
    public static let version: UInt32 = 3
    /// Bytes of an index entry besides its key.
    static let indexEntryFixedSize = 59
    public static let footerSize = 64
    public static let fileExtension = "mgs"
    /// The zstd level records are written at unless a caller asks for another: 1 stores 16-bit images,
    /// shuffled and left-differenced, in the same bytes as 3 (within 0.5%) and compresses them 1.75x faster,
    /// 4.5% of the archive path up to pectoral (docs/dicom.md).
    public static let defaultLevel: Int32 = 1
}

public struct ShardError: SubjectReasonError {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var subject: String { path }
}

/// One record's place in a shard.
public struct ShardIndexEntry: Sendable, Equatable {
    public let key: String
    public let offset: Int
    public let frameLength: Int
    public let rawLength: Int
    /// 1: the payload is stored as it is; k > 1: each part was byte-shuffled by k before compression.
    public let elementSize: Int
    /// SHA-256 of the record's zstd frame as stored.
    public let sha256: [UInt8]
}

/// What a finished shard is: its content name and counts, as a manifest lists it.
public struct ShardInfo: Sendable, Equatable, Codable {
    /// File name: the SHA-256 of the whole file, hex, plus ".mgs".
    public let name: String
    public let sha256: String
    public let size: Int
    public let records: Int
    public let firstKey: String?
    public let lastKey: String?

    public init(name: String, sha256: String, size: Int, records: Int, firstKey: String?, lastKey: String?) {
        self.name = name
        self.sha256 = sha256
        self.size = size
        self.records = records
        self.firstKey = firstKey
        self.lastKey = lastKey
    }
}

// MARK: - Writing

/// Streams records into a new shard. Memory is bounded by one record plus the index.
/// Keys must come in strictly ascending order of their UTF-8 bytes, which makes the file deterministic
/// and lets readers binary-search. The file is written under a temporary name and renamed to its
/// content hash by `finish()`; an abandoned writer leaves only a `.tmp` file.
public final class ShardWriter {
    public let directory: String
    private let tempPath: String
    private let file: FileDescriptor
    /// One per core, for the parts of a large record; the first also compresses everything else.
    private let compressors: [PartCompressor]
    let level: Int32
    private var hasher = StreamingSHA256()
    private var offset = 0
    private var entries: [ShardIndexEntry] = []
    private var metadataLines: [UInt8] = []
    private var finished = false

    public var recordCount: Int { entries.count }
    public var lastKey: String? { entries.last?.key }
    public var bytesWritten: Int { offset }

    /// Records larger than this are stored as several zstd frames of this many raw bytes, which a reader
    /// decodes on all cores at once: one 2 MiB image comes back in about half the time.
    public static let partSize = 1 << 20

    public init(directory: String, level: Int32 = ShardFormat.defaultLevel) throws {
        self.directory = directory
        self.level = level
        tempPath = "\(directory)/.shard-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).tmp"
        file = try FileDescriptor(creating: tempPath)
        compressors = (0..<max(1, ProcessInfo.processInfo.activeProcessorCount)).map { _ in PartCompressor(level: level) }
    }

    deinit { if !finished { unlink(tempPath) } }

    /// Appends a record: its key, a JSON object of metadata (the key is added as field "key"), and its payload.
    /// A payload of `elementSize`-byte numbers (2 for 16-bit samples, 4 for float32) is byte-shuffled by it
    /// before compression, which compresses better and decodes faster; 1 stores the bytes as they are.
    public func append(key: String, metadata: JSONValue = .object([:]), payload: [UInt8], elementSize: Int = 1) throws {
        try payload.withUnsafeBytes { try append(key: key, metadata: metadata, payload: $0, elementSize: elementSize) }
    }

    public func append(key: String, metadata: JSONValue, payload: UnsafeRawBufferPointer, elementSize: Int = 1) throws {
        let fields = try checkedFields(key: key, metadata: metadata, elementSize: elementSize)
        let frame = try compressRecord(payload, elementSize: elementSize)
        try emit(frame)
        addEntry(ShardIndexEntry(key: key, offset: offset - frame.count, frameLength: frame.count, rawLength: payload.count,
                                 elementSize: elementSize, sha256: Digest.sha256(frame)), fields: fields)
    }

    /// Appends a record its producer compressed already (`CompressedRecord`, at this writer's level): a stage
    /// whose workers compress what they made keeps only compressed records waiting for the writer.
    public func append(key: String, metadata: JSONValue, compressed record: CompressedRecord) throws {
        precondition(record.level == level, "record compressed at level \(record.level), the shard is written at \(level)")
        let fields = try checkedFields(key: key, metadata: metadata, elementSize: record.elementSize)
        try emit(record.frame)
        addEntry(ShardIndexEntry(key: key, offset: offset - record.frame.count, frameLength: record.frame.count,
                                 rawLength: record.rawLength, elementSize: record.elementSize, sha256: record.sha256),
                 fields: fields)
    }

    /// Appends a record another shard already holds, its stored frame copied as it is (no decompression or
    /// compression): the bytes and index entry are those a fresh `append` of the same payload would write,
    /// since frames depend only on the payload, the element size and the level.
    public func append(key: String, metadata: JSONValue, stored: VerifiedFrame) throws {
        let fields = try checkedFields(key: key, metadata: metadata, elementSize: stored.entry.elementSize)
        try file.writeAll(stored.bytes)
        hasher.update(stored.bytes)
        offset += stored.bytes.count
        let e = stored.entry
        addEntry(ShardIndexEntry(key: key, offset: offset - e.frameLength, frameLength: e.frameLength, rawLength: e.rawLength,
                                 elementSize: e.elementSize, sha256: e.sha256), fields: fields)
    }

    /// The metadata's fields plus the key, once the key is checked to be valid and to come after the last one
    /// and the element size to be 1 to 255.
    private func checkedFields(key: String, metadata: JSONValue, elementSize: Int) throws -> [String: JSONValue] {
        precondition(!finished, "append after finish")
        guard (1...255).contains(elementSize) else {
            throw ShardError(path: tempPath, reason: "element size \(elementSize) of record \"\(key)\" is not 1 to 255")
        }
        guard !key.isEmpty, key.utf8.count <= Int(UInt16.max) else {
            throw ShardError(path: tempPath, reason: "record key must be 1 to 65535 bytes")
        }
        if let last = entries.last, !Array(last.key.utf8).lexicographicallyPrecedes(Array(key.utf8)) {
            throw ShardError(path: tempPath, reason: "record key \"\(key)\" does not come after \"\(last.key)\": keys must be strictly ascending")
        }
        guard var fields = metadata.objectValue else {
            throw ShardError(path: tempPath, reason: "metadata of record \"\(key)\" must be a JSON object")
        }
        fields["key"] = .string(key)
        return fields
    }

    private func addEntry(_ entry: ShardIndexEntry, fields: [String: JSONValue]) {
        entries.append(entry)
        metadataLines += JSONValue.object(fields).canonicalBytes
        metadataLines.append(0x0A)
    }

    /// The payload as one zstd frame, or as frames of `partSize` raw bytes compressed on all cores. Each part
    /// is its own frame, so the bytes do not depend on how many cores did the work.
    private func compressRecord(_ payload: UnsafeRawBufferPointer, elementSize: Int) throws -> [UInt8] {
        if payload.count <= Self.partSize { return try compressors[0].compress(payload, elementSize: elementSize) }
        let starts = Array(stride(from: 0, to: payload.count, by: Self.partSize))
        let workers = min(compressors.count, starts.count)
        var frames = [[UInt8]](repeating: [], count: starts.count)
        try frames.withUnsafeMutableBufferPointer { frames in
            try concurrentPerformThrowing(iterations: workers) { w in
                for p in stride(from: w, to: starts.count, by: workers) {
                    let part = UnsafeRawBufferPointer(rebasing: payload[starts[p]..<min(starts[p] + Self.partSize, payload.count)])
                    frames[p] = try compressors[w].compress(part, elementSize: elementSize)
                }
            }
        }
        return Array(frames.joined())
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            try file.writeAll(buffer)
            hasher.update(buffer)
        }
        offset += bytes.count
    }

    /// Writes metadata, index and footer, syncs, and renames the file to `<sha256>.mgs`.
    public func finish() throws -> ShardInfo {
        precondition(!finished, "finish called twice")
        let metadataOffset = offset
        let metadataFrame = try metadataLines.withUnsafeBytes { try compressors[0].compress($0, elementSize: 1) }
        try emit(metadataFrame)

        var index = ByteWriter()
        for e in entries {
            let key = Array(e.key.utf8)
            index.u16(UInt16(key.count))
            index.bytes(key)
            index.u64(UInt64(e.offset))
            index.u64(UInt64(e.frameLength))
            index.u64(UInt64(e.rawLength))
            index.bytes([UInt8(e.elementSize)])
            index.bytes(e.sha256)
        }
        let indexOffset = offset
        try emit(index.data)

        var footer = ByteWriter()
        footer.bytes(ShardFormat.magic)
        footer.u32(ShardFormat.version)
        footer.u32(0)
        footer.u64(UInt64(entries.count))
        footer.u64(UInt64(metadataOffset))
        footer.u64(UInt64(metadataFrame.count))
        footer.u64(UInt64(metadataLines.count))
        footer.u64(UInt64(indexOffset))
        footer.u64(UInt64(index.data.count))
        try emit(footer.data)
        try file.sync()

        let sha = hasher.finalizeHex()
        let name = "\(sha).\(ShardFormat.fileExtension)"
        guard rename(tempPath, "\(directory)/\(name)") == 0 else {
            throw ShardError(path: tempPath, reason: "cannot rename to \(name): \(String(cString: strerror(errno)))")
        }
        finished = true
        return ShardInfo(name: name, sha256: sha, size: offset, records: entries.count,
                         firstKey: entries.first?.key, lastKey: entries.last?.key)
    }
}

/// A record's payload compressed as `ShardWriter.append` stores it (the same bytes: each part of `partSize` raw
/// bytes its own frame), made by whoever produced the payload, on its own thread.
public struct CompressedRecord: Sendable {
    public let frame: [UInt8]
    public let rawLength: Int
    public let elementSize: Int
    /// The frame's SHA-256 for the index, also computed by the producer's thread.
    let sha256: [UInt8]
    let level: Int32

    public init(payload: UnsafeRawBufferPointer, elementSize: Int, level: Int32 = ShardFormat.defaultLevel) throws {
        let compressor = PartCompressor.idle.take { $0.zstd.level == level } ?? PartCompressor(level: level)
        defer { PartCompressor.idle.giveBack(compressor) }
        var frame: [UInt8] = []
        for start in stride(from: 0, to: max(payload.count, 1), by: ShardWriter.partSize) {
            let part = UnsafeRawBufferPointer(rebasing: payload[start..<min(start + ShardWriter.partSize, payload.count)])
            frame += try compressor.compress(part, elementSize: elementSize)
        }
        self.frame = frame
        sha256 = Digest.sha256(frame)
        rawLength = payload.count
        self.elementSize = elementSize
        self.level = level
    }
}

// MARK: - Reading

/// Random access to a shard's records. Thread-safe: records are read from a read-only mapping of the file.
/// Holds no file descriptor once open (the mapping needs none): a stage reads thousands of shards at once
/// (54,706 images are about 5,000 shards per stage), more than a common limit of 1,024 open files.
public final class ShardReader: @unchecked Sendable {
    public let path: String
    public let entries: [ShardIndexEntry]
    /// The whole file, mapped: records are decoded from it in place.
    private let mapping: MappedFile
    private let metadataOffset: Int
    private let metadataFrameLength: Int
    private let metadataRawLength: Int
    private let keyIndex: [String: Int]
    /// One context per thread that decodes at the same time.
    let decompressors = ReusePool<PartDecompressor>(keep: 64)
    /// forEachPayload's two payload buffers, kept for the next call (and freed with the reader).
    let payloadBuffers = ReusePool<PageBuffer>(keep: 2)

    public var count: Int { entries.count }

    /// Opens a shard and reads its footer and index (not its records).
    public init(path: String) throws {
        self.path = path
        let file = try FileDescriptor(reading: path)
        let size = try file.size()
        func fail(_ reason: String) -> ShardError { ShardError(path: path, reason: reason) }
        guard size >= ShardFormat.footerSize else { throw fail("not a shard: \(size) bytes, shorter than the footer") }
        var footer = ByteReader(try file.read(at: size - ShardFormat.footerSize, count: ShardFormat.footerSize))
        guard footer.bytes(8) == ShardFormat.magic else { throw fail("not a shard: bad magic in the footer") }
        let version = footer.u32()
        guard version == ShardFormat.version else {
            throw fail("shard format version \(version); this reader knows \(ShardFormat.version)"
                       + (version < ShardFormat.version ? " (rerun the stage that wrote it)" : ""))
        }
        _ = footer.u32()
        let count = footer.u64()
        metadataOffset = Int(clamping: footer.u64())
        metadataFrameLength = Int(clamping: footer.u64())
        metadataRawLength = Int(clamping: footer.u64())
        let indexOffset = Int(clamping: footer.u64())
        let indexLength = Int(clamping: footer.u64())
        let bodyEnd = size - ShardFormat.footerSize
        guard indexOffset >= 0, indexLength >= 0, indexOffset <= bodyEnd, indexLength == bodyEnd - indexOffset,
              metadataOffset >= 0, metadataFrameLength >= 0, metadataOffset + metadataFrameLength == indexOffset,
              count <= UInt64(indexLength / ShardFormat.indexEntryFixedSize)
        else { throw fail("corrupt footer: offsets do not fit the file") }

        var index = ByteReader(try file.read(at: indexOffset, count: indexLength))
        var entries: [ShardIndexEntry] = []
        entries.reserveCapacity(Int(count))
        var keys: [String: Int] = [:]
        keys.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            guard index.remaining >= 2 else { throw fail("corrupt index: ends inside entry \(i)") }
            let keyLength = Int(index.u16())
            guard index.remaining >= keyLength + ShardFormat.indexEntryFixedSize - 2 else { throw fail("corrupt index: ends inside entry \(i)") }
            let key = String(decoding: index.bytes(keyLength), as: UTF8.self)
            let e = ShardIndexEntry(key: key, offset: Int(clamping: index.u64()), frameLength: Int(clamping: index.u64()),
                                    rawLength: Int(clamping: index.u64()), elementSize: Int(index.bytes(1)[0]), sha256: index.bytes(32))
            guard e.offset >= 0, e.frameLength >= 0, e.offset + e.frameLength <= metadataOffset else {
                throw fail("corrupt index: record \"\(key)\" points outside the record area")
            }
            guard e.elementSize >= 1 else { throw fail("corrupt index: record \"\(key)\" has element size 0") }
            keys[key] = i
            entries.append(e)
        }
        self.entries = entries
        keyIndex = keys
        mapping = try MappedFile(file, size: size)
    }

    public func index(of key: String) -> Int? { keyIndex[key] }

    /// The payload of record `i`, decompressed; with `verify`, its frame's SHA-256 is checked against the
    /// index first (zstd checks the frame's XXH64 content checksum while decoding in any case).
    public func payload(at i: Int, verify: Bool = true) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: entries[i].rawLength) { out, count in
            try decode(i, into: UnsafeMutableRawBufferPointer(out), verify: verify)
            count = out.count
        }
    }

    /// Decodes record `i` into `destination`, which must hold exactly its raw length (no zero-fill or copy).
    public func decode(_ i: Int, into destination: UnsafeMutableRawBufferPointer, verify: Bool = true) throws {
        let e = entries[i]
        precondition(destination.count == e.rawLength, "destination must hold exactly the record's raw length")
        let frame = try frameBytes(e)
        if verify && Digest.sha256(frame) != e.sha256 { throw hashMismatch(e) }
        try decompress(e, frame, into: destination)
    }

    /// Record `i`'s stored frame, its SHA-256 checked against the index (a mismatch is a `ShardError`): what a
    /// writer copies into another shard without decoding it.
    public func verifiedFrame(at i: Int) throws -> VerifiedFrame {
        let e = entries[i]
        let frame = try frameBytes(e)
        guard Digest.sha256(frame) == e.sha256 else { throw hashMismatch(e) }
        return VerifiedFrame(reader: self, entry: e, bytes: frame)
    }

    /// A record's compressed frame, in place in the mapped file (no copy).
    func frameBytes(_ e: ShardIndexEntry) throws -> UnsafeRawBufferPointer {
        try mapping.populate(e.offset..<e.offset + e.frameLength)
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[e.offset..<e.offset + e.frameLength])
    }

    /// Decompresses one record's stored bytes (one zstd frame, or several for a large record, decoded in
    /// parallel, each unshuffled if it was shuffled) with pooled contexts, naming the shard and record in any error.
    func decompress(_ e: ShardIndexEntry, _ stored: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws {
        do {
            let parts = try ZstdPart.split(stored, expectedSize: destination.count)
            let decodePart = { [decompressors] (part: ZstdPart) throws in
                let out = UnsafeMutableRawBufferPointer(rebasing: destination[part.contentOffset..<part.contentOffset + part.contentSize])
                try decompressors.use { try $0.decompress(part.frame, into: out, elementSize: e.elementSize) }
            }
            if parts.count == 1 { return try decodePart(parts[0]) }
            try concurrentPerformThrowing(iterations: parts.count) { try decodePart(parts[$0]) }
        } catch {
            throw ShardError(path: path, reason: "record \"\(e.key)\": \(error)")
        }
    }

    func hashMismatch(_ e: ShardIndexEntry) -> ShardError {
        ShardError(path: path, reason: "record \"\(e.key)\": SHA-256 mismatch, the record is corrupt")
    }

    public func payload(forKey key: String, verify: Bool = true) throws -> [UInt8]? {
        guard let i = index(of: key) else { return nil }
        return try payload(at: i, verify: verify)
    }

    /// Every record's metadata, in key order (one JSON object each, with its "key").
    public func metadata() throws -> [JSONValue] {
        let range = metadataOffset..<metadataOffset + metadataFrameLength
        try mapping.populate(range)
        let frame = Array(UnsafeRawBufferPointer(rebasing: mapping.bytes[range]))
        let text: [UInt8]
        do {
            text = try decompressors.use { try $0.zstd.decompress(frame, expectedSize: metadataRawLength) }
        } catch {
            throw ShardError(path: path, reason: "metadata: \(error)")
        }
        var result: [JSONValue] = []
        result.reserveCapacity(entries.count)
        for line in text.split(separator: 0x0A, omittingEmptySubsequences: true) {
            do { result.append(try JSONValue.parse(line)) } catch {
                throw ShardError(path: path, reason: "metadata line \(result.count + 1): \(error)")
            }
        }
        guard result.count == entries.count else {
            throw ShardError(path: path, reason: "metadata has \(result.count) lines for \(entries.count) records")
        }
        return result
    }
}

/// A record's frame as stored in a shard, checked against its index's SHA-256 (only
/// `ShardReader.verifiedFrame(at:)` makes one), so that copying it never copies damaged bytes. Valid while
/// its reader lives, which it keeps.
public struct VerifiedFrame: @unchecked Sendable {
    let reader: ShardReader
    let entry: ShardIndexEntry
    let bytes: UnsafeRawBufferPointer
    public var rawLength: Int { entry.rawLength }
}

/// Objects a reader reuses across calls, each lent to one caller at a time: creating a zstd context, or
/// mapping and faulting in a payload buffer, costs more per call than reading a small record.
final class ReusePool<Item: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [Item] = []
    /// Items beyond this many are freed when given back.
    private let keep: Int

    init(keep: Int) { self.keep = keep }

    /// An idle item that `fits`, if any.
    func take(where fits: (Item) -> Bool = { _ in true }) -> Item? {
        lock.withLock { idle.firstIndex(where: fits).map { idle.remove(at: $0) } }
    }

    func giveBack(_ item: Item) {
        lock.withLock { if idle.count < keep { idle.append(item) } }
    }
}

extension ReusePool where Item == PartDecompressor {
    func use<T>(_ body: (PartDecompressor) throws -> T) rethrows -> T {
        let decompressor = take() ?? PartDecompressor()
        defer { giveBack(decompressor) }
        return try body(decompressor)
    }
}

/// Compresses records or their parts, byte-shuffling them first when asked. Not thread-safe: one per thread.
final class PartCompressor {
    let zstd: ZstdCompressor
    /// The shuffled bytes of the last part, kept for the next.
    private var shuffled: [UInt8] = []

    init(level: Int32) { zstd = ZstdCompressor(level: level) }

    /// Compressors a finished record gave back, for the next (`CompressedRecord`): a zstd context and shuffle
    /// buffer made per record cost their allocation and zeroing every time.
    static let idle = ReusePool<PartCompressor>(keep: 64)

    func compress(_ part: UnsafeRawBufferPointer, elementSize: Int) throws -> [UInt8] {
        guard elementSize > 1 else { return try zstd.compress(part) }
        if shuffled.count < part.count { shuffled = [UInt8](repeating: 0, count: part.count) }
        return try shuffled.withUnsafeMutableBytes { buffer in
            let out = UnsafeMutableRawBufferPointer(rebasing: buffer[..<part.count])
            ByteShuffle.shuffle(part, into: out, elementSize: elementSize)
            return try zstd.compress(UnsafeRawBufferPointer(out))
        }
    }
}

/// Decompresses records or their parts, unshuffling those that were shuffled. Not thread-safe: one per thread.
final class PartDecompressor {
    let zstd = ZstdDecompressor()
    /// Room for all but one plane of a shuffled part, kept for the next.
    private var scratch: PageBuffer?

    /// Decodes a frame into `destination`, then unshuffles it there if it was shuffled.
    func decompress(_ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize: Int) throws {
        try zstd.decompress(frame, into: destination)
        guard elementSize > 1 else { return }
        let needed = destination.count / elementSize * (elementSize - 1)
        if (scratch?.bytes.count ?? 0) < needed { scratch = PageBuffer(byteCount: needed) }
        ByteShuffle.unshuffleInPlace(destination, elementSize: elementSize, scratch: scratch!.bytes)
    }
}

// MARK: - Little-endian byte helpers

struct ByteWriter {
    var data: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { data += b }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
}

/// Reads little-endian integers; callers check `remaining` before reading.
struct ByteReader {
    let data: [UInt8]
    var position = 0
    init(_ data: [UInt8]) { self.data = data }
    var remaining: Int { data.count - position }
    mutating func bytes(_ n: Int) -> [UInt8] {
        defer { position += n }
        return Array(data[position..<position + n])
    }
    mutating func u16() -> UInt16 { integer() }
    mutating func u32() -> UInt32 { integer() }
    mutating func u64() -> UInt64 { integer() }
    private mutating func integer<T: FixedWidthInteger>() -> T {
        defer { position += MemoryLayout<T>.size }
        return data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
    }
}
