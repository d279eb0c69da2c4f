#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Shards

private func folder() throws -> String {
    let path = NSTemporaryDirectory() + "mammoflow-statcache-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func put(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// Sets the mtime an hour back, so that the cache may remember the file (it skips files changed < 2 s ago).
private func backdate(_ path: String) {
    let old = timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)
    var times = [old, old]
    utimensat(AT_FDCWD, path, &times, 0)
}

@Test func statCacheHashesRelativeToAFolderAndNoticesACtimeChange() throws {
    let dir = try folder()
    try put("\(dir)/f", "hello")
    backdate("\(dir)/f")
    let fd = open(dir, O_RDONLY | O_DIRECTORY)
    defer { close(fd) }
    // The ctime set by backdating is now: the cache's clock runs a minute ahead, past the 2 s window.
    let later = { StatCache.wallClock() + 60_000_000_000 }
    let cache = StatCache(path: "\(dir)/state.tsv", clock: later)
    let first = try cache.sha256(of: "f", in: fd, directoryPath: dir)
    #expect(first.sha256 == Digest.sha256Hex("hello"))
    #expect(first.stamp == FileStamp.of("\(dir)/f"))
    try cache.flush()
    let reloaded = StatCache(path: "\(dir)/state.tsv", clock: later)
    #expect(try reloaded.sha256(of: "f", in: fd, directoryPath: dir).sha256 == Digest.sha256Hex("hello"))
    #expect(reloaded.hashedCount == 0)
    // Same bytes, size and mtime; only the ctime moves (chmod): the file is hashed again.
    chmod("\(dir)/f", 0o600)
    #expect(try reloaded.sha256(of: "f", in: fd, directoryPath: dir).sha256 == Digest.sha256Hex("hello"))
    #expect(reloaded.hashedCount == 1)
    // A file changed just now is hashed but not remembered.
    try put("\(dir)/f", "fresh")
    let racy = StatCache(path: "\(dir)/state.tsv")
    #expect(try racy.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("fresh"))
    #expect(try racy.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("fresh"))
    #expect(racy.hashedCount == 2)
    #expect(throws: FileError.self) { try racy.sha256(of: "missing", in: fd, directoryPath: dir) }
}

@Test func statCacheIgnoresOldFormatLinesAndRewritesWhenMostLinesAreDead() throws {
    let dir = try folder()
    try put("\(dir)/f", "data")
    backdate("\(dir)/f")
    let stamp = try #require(FileStamp.of("\(dir)/f"))
    // Lines of the format before the ctime (5 fields) claiming a wrong hash: ignored, never trusted.
    let old = (0..<1500).map { "\(String(repeating: "0", count: 64))\t\(stamp.size)\t\(stamp.mtimeNanoseconds)\t\(stamp.inode)\t\(dir)/f\($0 == 0 ? "" : "\($0)")\n" }
    try put("\(dir)/state.tsv", old.joined() + "cut by a cra")
    let cache = StatCache(path: "\(dir)/state.tsv", clock: { StatCache.wallClock() + 60_000_000_000 })
    #expect(cache.count == 0)
    #expect(try cache.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("data"))
    try cache.flush()
    let lines = try String(contentsOfFile: "\(dir)/state.tsv", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 1 && lines[0].split(separator: "\t").count == 6)
    #expect(StatCache(path: "\(dir)/state.tsv").count == 1)
}

@Test func sourceStampsRoundTripAndRefuseDamagedLines() throws {
    let dir = try folder()
    let stamps = SourceStamps(files: [.init(path: "/data/a b/é.dcm", stamp: FileStamp(size: 3, mtimeNanoseconds: 1_795_729_427_961_069_254,
                                                                                  ctimeNanoseconds: -1, inode: 42))],
                              folders: [.init(path: "/data/a b", mtimeNanoseconds: 5)])
    try stamps.write(to: "\(dir)/s")
    #expect(try SourceStamps.read("\(dir)/s") == stamps)
    try put("\(dir)/bad", "D\t5\t/data\nF\t1\t2\t3\t/data/old-format\n")
    #expect(throws: FileError.self) { try SourceStamps.read("\(dir)/bad") }
    do { _ = try SourceStamps.read("\(dir)/bad") } catch {
        #expect("\(error)".hasPrefix("\(dir)/bad: line 2 is not a source stamp"))
    }
    #expect(SourceStamps.changes(at: "\(dir)/bad", limit: 5) == ["source folder /data changed (files added or removed)",
                                                                 "source stamps \(dir)/bad are from an older mammoflow (no ctime): ingest again"])
}

@Test func sha256MatchesTheFIPSVectorsForBytesAndFiles() throws {
    // FIPS 180-2, appendix B.1 and B.2.
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    let long = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    #expect(Digest.sha256Hex("abc") == abc)
    #expect(Digest.sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == long)
    let dir = try folder()
    try put("\(dir)/abc", "abc")
    #expect(try Digest.sha256Hex(file: "\(dir)/abc") == abc)
    let fd = open(dir, O_RDONLY | O_DIRECTORY)
    defer { close(fd) }
    #expect(try Digest.sha256Stamped("abc", in: fd, path: "\(dir)/abc").sha256 == abc)
    // Past the 16 KiB stack buffer: 1 MiB + 1 bytes of "a" hashed in pieces, against the one-shot hash.
    let big = [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 1)
    try Data(big).write(to: URL(fileURLWithPath: "\(dir)/big"))
    #expect(try Digest.sha256Stamped("big", in: fd, path: "\(dir)/big").sha256 == Digest.sha256Hex(big))
}

@Test func theLastLineOfAPathWinsInALargeStatCache() throws {
    let dir = try folder()
    try put("\(dir)/f", "data")
    backdate("\(dir)/f")
    let s = try #require(FileStamp.of("\(dir)/f"))
    func line(_ sha: String, _ path: String) -> String {
        "\(sha)\t\(s.size)\t\(s.mtimeNanoseconds)\t\(s.ctimeNanoseconds)\t\(s.inode)\t\(path)\n"
    }
    // 9,000 lines of about 150 bytes; the file's stale hash early, its real one late.
    var text = line(String(repeating: "0", count: 64), "\(dir)/f")
    for i in 0..<9000 { text += line(String(repeating: "1", count: 64), "/elsewhere/\(i)") }
    text += line(Digest.sha256Hex("data"), "\(dir)/f")
    try put("\(dir)/state.tsv", text)
    let cache = StatCache(path: "\(dir)/state.tsv")
    #expect(cache.count == 9001)
    #expect(try cache.sha256(ofFile: "\(dir)/f").sha256 == Digest.sha256Hex("data"))
    #expect(cache.hashedCount == 0)
}
