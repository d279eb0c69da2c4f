#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What `stat` says about a file: enough to tell that it has not changed since it was hashed
/// (the same idea as DVC's state database and git's index).
public struct FileStamp: Sendable, Equatable, Hashable {
    public var size: Int
    /// Modification time in nanoseconds since the epoch.
    public var mtimeNanoseconds: Int64
    /// Status-change time in nanoseconds since the epoch: it moves with every write, chmod, link or rename,
    /// and unlike the mtime no tool can set it back, so `touch -d` over a changed file still shows.
    public var ctimeNanoseconds: Int64
    public var inode: UInt64

    public init(size: Int, mtimeNanoseconds: Int64, ctimeNanoseconds: Int64, inode: UInt64) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
        self.inode = inode
    }

    public init(_ st: stat) {
        self.init(size: Int(st.st_size),
                  mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                  ctimeNanoseconds: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec),
                  inode: UInt64(st.st_ino))
    }

    /// Appends `size TAB mtime TAB ctime TAB inode`, the stamp's form in the stat cache and stamps files.
    func appendFields(to line: inout [UInt8]) {
        appendDecimal(size, to: &line)
        line.append(0x09)
        appendDecimal(mtimeNanoseconds, to: &line)
        line.append(0x09)
        appendDecimal(ctimeNanoseconds, to: &line)
        line.append(0x09)
        appendDecimal(inode, to: &line)
    }

    /// The stamp of a file or directory, nil when it does not exist.
    public static func of(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStamp(st)
    }

    /// The stamp of entry `name` of an open directory: the kernel resolves one name, not a whole path.
    public static func of(_ name: String, in directory: Int32) -> FileStamp? {
        var st = stat()
        guard fstatat(directory, name, &st, 0) == 0 else { return nil }
        return FileStamp(st)
    }
}

/// A persistent map (path, size, mtime, ctime, inode) -> SHA-256 for files outside the store (source
/// datasets, stage executables), so that hashing a file that did not change costs one `stat`.
///
/// On disk: an append-only text file, one line per hashed file,
/// `<sha256> TAB <size> TAB <mtime ns> TAB <ctime ns> TAB <inode> TAB <absolute path> LF`; the last line of a
/// path wins. Lines in any other shape (the 5-field lines of mammoflow before the ctime was stamped, a line
/// cut by a crash) are ignored, so those files are hashed again; once such lines or superseded ones outnumber
/// the live entries, `flush` rewrites the file with the live entries only.
/// Appends are whole lines written with O_APPEND, so concurrent writers (the scheduler and a stage) never
/// interleave inside a line. A file modified within the last 2 seconds is hashed but not remembered: its
/// mtime could still change within the clock's granularity without the stamp changing ("racy git").
public final class StatCache: @unchecked Sendable {
    public let path: String
    /// The remembered files; changed only by `init` (and a rewrite in `flush`), so threads look up without a lock.
    private var entries: [String: (stamp: FileStamp, sha256: String)] = [:]
    /// Hashed since the last flush: appended to the file by `flush`.
    private var learned: [(path: String, entry: (stamp: FileStamp, sha256: String))] = []
    private var pending: [UInt8] = []
    /// Lines in the file that are not live entries (superseded, malformed, older format).
    private var deadLines = 0
    private let lock = NSLock()
    /// Files hashed (not found in the cache) since this object was created.
    public private(set) var hashedCount = 0
    /// Now, in nanoseconds since the epoch (tests move it instead of sleeping past the 2 s window).
    private let clock: () -> Int64

    public static func wallClock() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Loads the cache at `path` (a missing file is an empty cache).
    public init(path: String, clock: @escaping () -> Int64 = StatCache.wallClock) {
        self.path = path
        self.clock = clock
        guard let bytes = try? readFile(path) else { return }
        entries.reserveCapacity(bytes.count / 160)  // a line is about 170 bytes: no rehashing while loading
        var lines = 0
        bytes.withUnsafeBufferPointer { buffer in
            TabSeparatedLines.forEach(in: buffer) { fields in
                lines += 1
                guard fields.count == 6, fields[0].count == 64, let stamp = fields.stamp(at: 1), !fields[5].isEmpty else { return }
                entries[fields.string(5)] = (stamp, fields.string(0))
            }
        }
        deadLines = lines - entries.count
    }

    public var count: Int { entries.count }

    /// The SHA-256 of a file: from the cache when its stamp is unchanged, otherwise hashed and remembered.
    public func sha256(ofFile path: String) throws -> (sha256: String, stamp: FileStamp) {
        try sha256(path: path, name: path, in: AT_FDCWD)
    }

    /// The SHA-256 of entry `name` of the open directory `directory` (whose path is `directoryPath`).
    /// A remembered file costs one `fstatat`; another is opened relative to the directory, hashed, and its
    /// stamp taken from the open descriptor before and after reading.
    public func sha256(of name: String, in directory: Int32, directoryPath: String) throws -> (sha256: String, stamp: FileStamp) {
        try sha256(path: "\(directoryPath)/\(name)", name: name, in: directory)
    }

    private func sha256(path: String, name: String, in directory: Int32) throws -> (sha256: String, stamp: FileStamp) {
        // `entries` changes only in `flush`, so lookups need no lock (one lock per file made two threads wait).
        if let entry = entries[path] {
            guard let stamp = FileStamp.of(name, in: directory) else { throw FileError.errno(path, "cannot stat") }
            if stamp == entry.stamp { return (entry.sha256, stamp) }
        }
        let (sha, stamp) = try Digest.sha256Stamped(name, in: directory, path: path)
        let now = clock()
        let memorable = now - stamp.mtimeNanoseconds > 2_000_000_000 && now - stamp.ctimeNanoseconds > 2_000_000_000
        let line = memorable ? Self.line(path: path, stamp: stamp, sha256: sha) : []
        lock.lock()
        hashedCount += 1
        if memorable {
            learned.append((path, (stamp, sha)))
            pending += line
        }
        lock.unlock()
        return (sha, stamp)
    }

    static func line(path: String, stamp: FileStamp, sha256: String) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(100 + path.utf8.count)
        line.append(contentsOf: sha256.utf8)
        line.append(0x09)
        stamp.appendFields(to: &line)
        line.append(0x09)
        line.append(contentsOf: path.utf8)
        line.append(0x0A)
        return line
    }

    /// Appends the entries learnt since the last flush to the file, or rewrites it with the live entries
    /// when dead lines outnumber them.
    /// What was learnt serves the next cache loaded from the file; this one keeps its lookups as they were
    /// loaded, so that threads hashing through it need no lock to read them.
    public func flush() throws {
        lock.lock(); defer { lock.unlock() }
        let superseded = learned.lazy.filter { self.entries[$0.path] != nil }.count
        deadLines += superseded
        let directory = (path as NSString).deletingLastPathComponent
        if deadLines > max(entries.count + learned.count - superseded, 1000) {
            for (file, entry) in learned { entries[file] = entry }
            learned.removeAll()
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var text: [UInt8] = []
            for (file, entry) in entries.sorted(by: { $0.key < $1.key }) {
                text += Self.line(path: file, stamp: entry.stamp, sha256: entry.sha256)
            }
            try writeFileAtomically(path, text)
            pending.removeAll()
            deadLines = 0
            return
        }
        learned.removeAll()
        guard !pending.isEmpty else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open the stat cache: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // One write per 64 KiB of whole lines: O_APPEND keeps each write contiguous.
        var start = 0
        while start < pending.count {
            var end = min(pending.count, start + 65536)
            while end < pending.count && pending[end - 1] != 0x0A { end += 1 }
            let n = pending[start..<end].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == end - start else { throw FileError(path: path, reason: "short write to the stat cache") }
            start = end
        }
        pending.removeAll()
    }
}

/// Appends `value` in decimal: `String(value)` goes through a generic path that showed in profiles when
/// written 4 times for each of 54,706 files.
@inline(__always)
public func appendDecimal<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    if value < 0 { out.append(UInt8(ascii: "-")) }
    var magnitude = UInt64(value.magnitude)
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of UInt64.max
    withUnsafeMutableBytes(of: &digits) { buffer in
        var i = buffer.count
        repeat {
            i -= 1
            buffer[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        out.append(contentsOf: buffer[i...])
    }
}

/// The fields of one line of a tab-separated file, as byte ranges of the file's buffer (no copies).
public struct TabSeparatedFields {
    let base: UnsafeBufferPointer<UInt8>
    var ranges: [Range<Int>] = []

    public var count: Int { ranges.count }

    public subscript(i: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: base[ranges[i]]) }

    public func string(_ i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    /// Fields `i ..< i + 4` as a stamp (`FileStamp.appendFields`), nil when one is not a decimal integer.
    public func stamp(at i: Int) -> FileStamp? {
        guard i + 4 <= count, let size = integer(i), size >= 0, let mtime = integer(i + 1), let ctime = integer(i + 2),
              let inode = integer(i + 3).flatMap(UInt64.init(exactly:)) else { return nil }
        return FileStamp(size: Int(size), mtimeNanoseconds: mtime, ctimeNanoseconds: ctime, inode: inode)
    }

    /// Field `i` as a decimal integer (an optional leading '-'), nil when it is anything else.
    public func integer(_ i: Int) -> Int64? {
        let field = self[i]
        var start = 0
        let negative = field.first == UInt8(ascii: "-")
        if negative { start = 1 }
        guard field.count > start, field.count - start <= 19 else { return nil }
        var value: Int64 = 0
        for b in field[start...] {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(b - 0x30))
            guard !o1 && !o2 else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}

/// Splits a buffer into lines (LF) and tab-separated fields without building strings: a stat cache or stamps
/// file has a line per source file, and a `String` per field made loading one slow (docs/measurements.md).
public enum TabSeparatedLines {
    public static func forEach(in buffer: UnsafeBufferPointer<UInt8>, _ body: (TabSeparatedFields) throws -> Void) rethrows {
        var fields = TabSeparatedFields(base: buffer)
        var lineStart = 0
        var fieldStart = 0
        var i = 0
        let n = buffer.count
        while i <= n {
            let b: UInt8 = i < n ? buffer[i] : 0x0A
            if b == 0x09 {
                fields.ranges.append(fieldStart..<i)
                fieldStart = i + 1
            } else if b == 0x0A {
                if i > lineStart {
                    fields.ranges.append(fieldStart..<i)
                    try body(fields)
                }
                fields.ranges.removeAll(keepingCapacity: true)
                lineStart = i + 1
                fieldStart = i + 1
            }
            i += 1
        }
    }
}
