#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

/// Read-only bytes a data set points into: a memory-mapped file (pages are read only when touched, so parsing
/// the header never reads the pixel data) or an owned buffer (an inflated deflated data set).
final class ByteStorage: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    private let release: () -> Void

    private init(base: UnsafeRawPointer, count: Int, release: @escaping () -> Void) {
        self.base = base
        self.count = count
        self.release = release
    }

    deinit { release() }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Maps a whole file.
    static func map(path: String) throws -> ByteStorage {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw DICOMError(file: path, kind: .unreadable, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw DICOMError(file: path, kind: .unreadable, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw DICOMError(file: path, kind: .unreadable, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw DICOMError(file: path, kind: .truncated, reason: "the file is empty") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw DICOMError(file: path, kind: .unreadable, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        return ByteStorage(base: UnsafeRawPointer(p), count: size) { munmap(p, size) }
    }

    /// Copies bytes into storage of their own.
    static func copy(_ bytes: UnsafeRawBufferPointer) -> ByteStorage {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        if let src = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: src, byteCount: bytes.count) }
        return ByteStorage(base: UnsafeRawPointer(p), count: bytes.count) { p.deallocate() }
    }

    /// Storage made of `prefix` followed by the raw-deflate stream `deflated` inflated. The output is capped at
    /// deflate's maximum ratio (1032:1) and 4 GiB, so a crafted stream cannot make us allocate without bound.
    static func inflating(prefix: UnsafeRawBufferPointer, deflated: UnsafeRawBufferPointer, file: String) throws -> ByteStorage {
        let limit = min(prefix.count + 1032 * deflated.count + 64, 1 << 32)
        var capacity = min(limit, prefix.count + 4 * deflated.count + 1024)
        var out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        if prefix.count > 0 { out.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            out.deallocate()
            throw DICOMError(file: file, kind: .unreadable, reason: "zlib inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: deflated.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(deflated.count)
        var produced = prefix.count
        while true {
            if produced == capacity {
                guard capacity < limit else {
                    out.deallocate()
                    throw DICOMError(file: file, kind: .malformed, reason: "deflated data set inflates beyond \(limit) bytes")
                }
                let bigger = min(limit, capacity * 2)
                let grown = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
                grown.copyMemory(from: out, byteCount: produced)
                out.deallocate()
                out = grown
                capacity = bigger
            }
            stream.next_out = (out + produced).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(min(capacity - produced, Int(UInt32.max)))
            let before = Int(stream.avail_out)
            let status = inflate(&stream, Z_NO_FLUSH)
            produced += before - Int(stream.avail_out)
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 {
                out.deallocate()
                throw DICOMError(file: file, kind: .truncated, reason: "deflated data set ends before its end marker")
            }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                out.deallocate()
                throw DICOMError(file: file, kind: .malformed, reason: "deflated data set is corrupt (zlib \(status))")
            }
        }
        let final = out
        return ByteStorage(base: UnsafeRawPointer(final), count: produced) { final.deallocate() }
    }
}

/// A bounds-checked cursor over storage bytes in one byte order. Every read checks the remaining bytes and
/// throws `truncated` naming what it was reading.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var bigEndian: Bool
    var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, file: String, bigEndian: Bool = false, offset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.bigEndian = bigEndian
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    func require(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw DICOMError(file: file, kind: .truncated,
                             reason: "\(what()) needs \(n) bytes at offset \(offset), only \(max(0, remaining)) remain")
        }
    }

    mutating func u16(_ what: @autoclosure () -> String = "a 16-bit value") throws -> UInt16 {
        try require(2, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        offset += 2
        return bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }

    mutating func u32(_ what: @autoclosure () -> String = "a 32-bit value") throws -> UInt32 {
        try require(4, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        offset += 4
        return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws {
        try require(n, what())
        offset += n
    }
}
