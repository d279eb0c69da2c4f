#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Pipeline
import Shards
import Testing

@Test func theLockIsExclusiveAndNamesItsHolder() throws {
    let dir = try scratch()
    let first = try CacheLock(path: "\(dir)/lock")
    let holder = LockHolder(pid: getpid(), host: LockHolder.hostName(), command: "mammoflow run a.yaml", since: "2026-01-01T00:00:00Z")
    #expect(try first.tryAcquire(as: holder))
    // flock is per open file: a second open in this process conflicts like another process would.
    let second = try CacheLock(path: "\(dir)/lock")
    #expect(try !second.tryAcquire(as: .current(command: "other")))
    #expect(second.recordedHolder() == holder)
    first.release()
    #expect(try second.tryAcquire(as: .current(command: "other")))
}

@Test func aLockLeftByADeadProcessIsStaleAndTakenOver() throws {
    let dir = try scratch()
    // A pid that surely is dead: a child that has exited and been reaped.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/true")
    try child.run()
    child.waitUntilExit()
    let dead = LockHolder(pid: child.processIdentifier, host: LockHolder.hostName(), command: "mammoflow run", since: "2026-01-01T00:00:00Z")
    #expect(dead.isDead)
    #expect(!LockHolder.current(command: "x").isDead)
    try write("\(dir)/lock", String(decoding: try JSONEncoder().encode(dead), as: UTF8.self))
    var messages: [String] = []
    let lock = try CacheLock(path: "\(dir)/lock")
    try lock.acquire(as: .current(command: "mammoflow run")) { messages.append($0) }
    #expect(lock.isHeld)
    #expect(messages.count == 1 && messages[0].contains("stale lock left by pid \(dead.pid)"))
    #expect(lock.recordedHolder()?.pid == getpid())
}

@Test func theStatCacheHashesAFileOnceUntilItChanges() throws {
    let dir = try scratch()
    try write("\(dir)/f", "hello")
    // Backdate it: files modified in the last 2 s are hashed but not remembered.
    var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
    utimensat(AT_FDCWD, "\(dir)/f", &times, 0)
    // Its ctime is now: the cache's clock runs a minute ahead, past the 2 s window.
    let later = { StatCache.wallClock() + 60_000_000_000 }
    let cache = StatCache(path: "\(dir)/state.tsv", clock: later)
    #expect(try cache.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("hello"))
    #expect(cache.hashedCount == 1)
    try cache.flush()
    let reloaded = StatCache(path: "\(dir)/state.tsv", clock: later)
    #expect(try reloaded.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("hello"))
    #expect(reloaded.hashedCount == 0)
    try write("\(dir)/f", "hello, world")
    #expect(try reloaded.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("hello, world"))
    #expect(reloaded.hashedCount == 1)
}

@Test func sourceStampsNoticeChangedAddedAndRemovedFiles() throws {
    let dir = try scratch()
    try write("\(dir)/data/train.csv", "a")
    try write("\(dir)/data/train_images/1/2.dcm", "b")
    let files = ["\(dir)/data/train.csv", "\(dir)/data/train_images/1/2.dcm"].map { SourceStamps.File(path: $0, stamp: FileStamp.of($0)!) }
    try SourceStamps(stampingFoldersOf: files).write(to: "\(dir)/stamps")
    #expect(SourceStamps.changes(at: "\(dir)/stamps", limit: 5).isEmpty)
    usleep(20_000)  // past the file system clock's granularity
    try write("\(dir)/data/train_images/7/8.dcm", "new patient")
    #expect(SourceStamps.changes(at: "\(dir)/stamps", limit: 5) == ["source folder \(dir)/data/train_images changed (files added or removed)"])
    try SourceStamps(stampingFoldersOf: files).write(to: "\(dir)/stamps")
    usleep(20_000)
    try write("\(dir)/data/train_images/1/2.dcm", "changed")
    #expect(SourceStamps.changes(at: "\(dir)/stamps", limit: 5).contains("source file \(dir)/data/train_images/1/2.dcm changed"))
}
