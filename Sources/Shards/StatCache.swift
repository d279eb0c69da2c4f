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
    public var inode: UInt64

    public init(size: Int, mtimeNanoseconds: Int64, inode: UInt64) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
    }

    /// The stamp of a file or directory, nil when it does not exist.
    public static func of(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStamp(size: Int(st.st_size),
                         mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                         inode: UInt64(st.st_ino))
    }
}

/// A persistent map (path, size, mtime, inode) -> SHA-256 for files outside the store (source datasets,
/// stage executables), so that hashing a file that did not change costs one `stat`.
///
/// On disk: an append-only text file, one line per hashed file,
/// `<sha256> TAB <size> TAB <mtime ns> TAB <inode> TAB <absolute path> LF`; the last line of a path wins.
/// Appends are whole lines written with O_APPEND, so concurrent writers (the scheduler and a stage) never
/// interleave inside a line. A file modified within the last 2 seconds is hashed but not remembered: its
/// mtime could still change within the clock's granularity without the stamp changing ("racy git").
public final class StatCache: @unchecked Sendable {
    public let path: String
    private var entries: [String: (stamp: FileStamp, sha256: String)] = [:]
    private var pending: [UInt8] = []
    private let lock = NSLock()
    /// Files hashed (not found in the cache) since this object was created.
    public private(set) var hashedCount = 0

    /// Loads the cache at `path` (a missing file is an empty cache; malformed lines are skipped).
    public init(path: String) {
        self.path = path
        guard let bytes = try? readFile(path) else { return }
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: 0x09, maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count == 5, fields[0].count == 64,
                  let size = Int(String(decoding: fields[1], as: UTF8.self)),
                  let mtime = Int64(String(decoding: fields[2], as: UTF8.self)),
                  let inode = UInt64(String(decoding: fields[3], as: UTF8.self))
            else { continue }
            entries[String(decoding: fields[4], as: UTF8.self)] =
                (FileStamp(size: size, mtimeNanoseconds: mtime, inode: inode), String(decoding: fields[0], as: UTF8.self))
        }
    }

    /// The remembered SHA-256 of `path` if its stamp still matches.
    public func cachedSHA256(of path: String, stamp: FileStamp) -> String? {
        lock.lock(); defer { lock.unlock() }
        guard let entry = entries[path], entry.stamp == stamp else { return nil }
        return entry.sha256
    }

    /// The SHA-256 of a file: from the cache when its stamp is unchanged, otherwise hashed and remembered.
    public func sha256(ofFile path: String) throws -> (sha256: String, stamp: FileStamp) {
        guard let stamp = FileStamp.of(path) else { throw FileError(path: path, reason: "no such file") }
        if let sha = cachedSHA256(of: path, stamp: stamp) { return (sha, stamp) }
        let sha = try Digest.sha256Hex(file: path)
        // A file that changed while we read it gets a new stamp: do not remember a hash of mixed content.
        guard FileStamp.of(path) == stamp else {
            throw FileError(path: path, reason: "changed while it was being hashed")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        lock.lock()
        hashedCount += 1
        if now - stamp.mtimeNanoseconds > 2_000_000_000 {
            entries[path] = (stamp, sha)
            pending += Array("\(sha)\t\(stamp.size)\t\(stamp.mtimeNanoseconds)\t\(stamp.inode)\t\(path)\n".utf8)
        }
        lock.unlock()
        return (sha, stamp)
    }

    /// Appends the entries learnt since the last flush to the file.
    public func flush() throws {
        lock.lock(); defer { lock.unlock() }
        guard !pending.isEmpty else { return }
        let directory = (path as NSString).deletingLastPathComponent
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
