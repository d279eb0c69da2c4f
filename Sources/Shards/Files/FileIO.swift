#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An error of file I/O that names the file and the reason (errno's text).
public struct FileError: SubjectReasonError {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    static func errno(_ path: String, _ what: String) -> FileError {
        FileError(path: path, reason: "\(what): \(String(cString: strerror(Glibc.errno)))")
    }

    public var subject: String { path }
}

/// A file descriptor with EINTR-safe, complete reads and writes. Closed on deinit.
public final class FileDescriptor {
    public let fd: Int32
    public let path: String

    /// Opens for reading.
    public init(reading path: String) throws {
        let fd = retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw FileError.errno(path, "cannot open") }
        self.fd = fd
        self.path = path
    }

    /// Opens entry `name` of an open directory for reading (`path` names it in errors).
    public init(reading name: String, in directory: Int32, path: String) throws {
        let fd = retryingEINTR { openat(directory, name, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw FileError.errno(path, "cannot open") }
        self.fd = fd
        self.path = path
    }

    /// Creates (or truncates) for writing.
    public init(creating path: String, mode: mode_t = 0o644) throws {
        let fd = retryingEINTR { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw FileError.errno(path, "cannot create") }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    public func size() throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno(path, "cannot stat") }
        return Int(st.st_size)
    }

    public func stamp() throws -> FileStamp {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno(path, "cannot stat") }
        return FileStamp(st)
    }

    /// Writes all of `bytes` at the current position.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno(path, "write failed")
            }
            done += n
        }
    }

    /// Reads exactly `count` bytes at `offset`; a short file is an error that says how short.
    public func read(at offset: Int, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        return out
    }

    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno(path, "read failed at offset \(offset + done)")
            }
            if n == 0 {
                throw FileError(path: path, reason: "file ends at \(offset + done) bytes, \(buffer.count - done) more expected")
            }
            done += n
        }
    }

    /// Flushes data to the disk, so that a rename after it commits a complete file.
    public func sync() throws {
        guard retryingEINTR({ fsync(fd) }) == 0 else { throw FileError.errno(path, "fsync failed") }
    }
}

@inline(__always)
func retryingEINTR(_ call: () -> Int32) -> Int32 {
    while true {
        let r = call()
        if r < 0 && errno == EINTR { continue }
        return r
    }
}

/// Reads a whole file.
public func readFile(_ path: String) throws -> [UInt8] {
    let file = try FileDescriptor(reading: path)
    return try file.read(at: 0, count: file.size())
}

/// Writes a file atomically: a temporary file beside it, fsync, then rename over the target.
/// A reader never sees a half-written file, and a killed writer leaves only a `.tmp-` file behind.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
    let temp = "\(path).tmp-\(getpid())"
    do {
        let file = try FileDescriptor(creating: temp)
        try bytes.withUnsafeBytes { try file.writeAll($0) }
        try file.sync()
    }
    guard rename(temp, path) == 0 else {
        let error = FileError.errno(path, "cannot rename \(temp) into place")
        unlink(temp)
        throw error
    }
}

/// A read-only memory map of a whole file, for reading parts of it without copying them.
/// Meant for immutable files (shards are written under a temporary name and renamed): `populate` maps a
/// range's pages in one system call instead of a fault per 4 KiB page, and turns a file truncated since it was
/// opened into an error here rather than a SIGBUS later.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(_ file: FileDescriptor, size: Int) throws {
        path = file.path
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, file.fd, 0), base != MAP_FAILED else {
            throw FileError.errno(path, "cannot map \(size) bytes")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit { if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) } }

    /// Maps the pages holding `range` now, so that reading them takes no page faults.
    public func populate(_ range: Range<Int>) throws {
        #if os(Linux)
        guard !range.isEmpty, let base = bytes.baseAddress else { return }
        let page = Int(getpagesize())
        let start = range.lowerBound / page * page
        if madvise(UnsafeMutableRawPointer(mutating: base + start), range.upperBound - start, 22 /* MADV_POPULATE_READ */) != 0 {
            // EINVAL: a kernel older than 5.14 without the advice; faults will map the pages instead.
            if errno != EINVAL { throw FileError.errno(path, "cannot map bytes \(range) (was the file truncated?)") }
        }
        #endif
    }
}

/// Page-aligned anonymous memory for large scratch buffers, mapped in one system call and, from 1 MiB, on
/// transparent huge pages where the kernel offers them. A fresh 2 MiB buffer otherwise costs 512 page faults,
/// a large share of the time decoding a 2 MiB record into it takes; one huge page is one fault
/// (docs/measurements.md).
public final class PageBuffer: @unchecked Sendable {
    public let bytes: UnsafeMutableRawBufferPointer
    private let mappedLength: Int

    public init(byteCount: Int) {
        let huge = byteCount >= 1 << 20
        let unit = huge ? 2 << 20 : Int(getpagesize())
        mappedLength = max(unit, (byteCount + unit - 1) / unit * unit)
        guard let base = mmap(nil, mappedLength, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { fatalError("out of memory: cannot map \(mappedLength) bytes") }
        #if os(Linux)
        // Hints only: a kernel without THP or older than 5.14 refuses them, and pages fault in when written.
        if huge { _ = madvise(base, mappedLength, 14 /* MADV_HUGEPAGE */) }
        _ = madvise(base, mappedLength, 23 /* MADV_POPULATE_WRITE */)
        #endif
        bytes = UnsafeMutableRawBufferPointer(start: base, count: byteCount)
    }

    deinit { munmap(bytes.baseAddress, mappedLength) }
}
