#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// Who holds a cache: written into the lock file by the holder, read by whoever waits.
public struct LockHolder: Codable, Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var host: String
    public var command: String
    /// ISO 8601, UTC.
    public var since: String

    public init(pid: Int32, host: String, command: String, since: String) {
        self.pid = pid
        self.host = host
        self.command = command
        self.since = since
    }

    public static func current(command: String) -> LockHolder {
        let formatter = ISO8601DateFormatter()
        return LockHolder(pid: getpid(), host: Self.hostName(), command: command, since: formatter.string(from: Date()))
    }

    public var description: String { "pid \(pid) on \(host) (\(command)) since \(since)" }

    /// Whether the process is gone (only answerable on the same host).
    public var isDead: Bool {
        host == Self.hostName() && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// The kernel's host name (ProcessInfo.hostName may wait on a DNS lookup).
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// An exclusive lock on a cache, so two runs cannot interleave their commits.
///
/// The kernel's `flock` is the lock: it goes away with its process however that process dies, so a lock
/// left by `kill -9` is never a deadlock. The holder's pid, host, command and start time are written into
/// the file so a waiter can say who it waits for; a file naming a dead pid with no `flock` on it is
/// reported as stale and taken over.
public final class CacheLock {
    public let path: String
    private let fd: Int32
    public private(set) var isHeld = false

    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open the cache lock: \(String(cString: strerror(errno)))") }
    }

    deinit {
        release()
        close(fd)
    }

    /// The holder named in the lock file (the current one while locked, the last one otherwise).
    public func recordedHolder() -> LockHolder? {
        guard let bytes = try? readFile(path), !bytes.isEmpty else { return nil }
        return try? JSONDecoder().decode(LockHolder.self, from: Data(bytes))
    }

    /// Tries once; on success writes `holder` into the file.
    public func tryAcquire(as holder: LockHolder) throws -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { return false }
            throw FileError(path: path, reason: "flock failed: \(String(cString: strerror(errno)))")
        }
        isHeld = true
        let bytes = Array(try JSONEncoder().encode(holder))
        ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return true
    }

    /// Waits for the lock. `report` hears once who holds it (and again when the holder changes), and once
    /// when a stale holder (its process is dead) is taken over.
    public func acquire(as holder: LockHolder, pollInterval: Double = 0.2, report: (String) -> Void) throws {
        let previous = recordedHolder()
        var reported: LockHolder?
        while !(try tryAcquire(as: holder)) {
            let current = recordedHolder()
            if let current, current != reported {
                report("cache \(path) is locked by \(current); waiting")
                reported = current
            }
            usleep(UInt32(pollInterval * 1e6))
        }
        if let previous, reported == nil, previous.pid != holder.pid || previous.host != holder.host, previous.isDead {
            report("took over a stale lock left by \(previous) (process is gone)")
        }
    }

    public func release() {
        guard isHeld else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        isHeld = false
    }
}
