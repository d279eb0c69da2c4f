#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The stamps of an artifact's source files (files it lists outside the store) and the mtimes of the folders
/// holding them, up to their common root: `cache/runs/<key>.sources`. A changed file changes its stamp; an
/// added or removed file or folder changes its folder's mtime; so freshness costs one `stat` each and never
/// reads a byte.
///
/// Text, one line each: `F TAB size TAB mtime_ns TAB ctime_ns TAB inode TAB path` per file,
/// `D TAB mtime_ns TAB path` per folder (absolute paths). A stage that lists sources writes it to
/// `MAMMOFLOW_SOURCE_STAMPS` (docs/stage-contract.md) with each folder stamped before it was listed and each file
/// as it was when hashed; otherwise the scheduler stamps them when it commits.
public struct SourceStamps: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var path: String
        public var stamp: FileStamp
        public init(path: String, stamp: FileStamp) {
            self.path = path
            self.stamp = stamp
        }
    }

    public struct Folder: Sendable, Equatable {
        public var path: String
        public var mtimeNanoseconds: Int64
        public init(path: String, mtimeNanoseconds: Int64) {
            self.path = path
            self.mtimeNanoseconds = mtimeNanoseconds
        }
    }

    public var files: [File]
    public var folders: [Folder]

    public init(files: [File], folders: [Folder]) {
        self.files = files
        self.folders = folders
    }

    /// Stamps for `files` (already stamped) and the folders holding them up to their common root, stat-ed now.
    public init(stampingFoldersOf files: [File]) {
        var directories = Set(files.map { Self.parent($0.path) })
        // Ancestors up to the files' common root: a new subfolder changes its parent's mtime.
        let root = Self.commonRoot(Array(directories))
        for dir in Array(directories) {
            var d = dir
            while d.utf8.count > root.utf8.count, d.hasPrefix(root) {
                d = Self.parent(d)
                directories.insert(d)
            }
        }
        let folders = directories.sorted().compactMap { dir in
            FileStamp.of(dir).map { Folder(path: dir, mtimeNanoseconds: $0.mtimeNanoseconds) }
        }
        self.init(files: files, folders: folders)
    }

    public func write(to path: String) throws {
        var text: [UInt8] = []
        text.reserveCapacity(files.count * 128)
        for f in files {
            text += [UInt8(ascii: "F"), 0x09]
            f.stamp.appendFields(to: &text)
            text.append(0x09)
            text.append(contentsOf: f.path.utf8)
            text.append(0x0A)
        }
        for d in folders { text += Array("D\t\(d.mtimeNanoseconds)\t\(d.path)\n".utf8) }
        try writeFileAtomically(path, text)
    }

    /// Reads a stamps file; a line in any other shape is an error naming the file and the line.
    public static func read(_ path: String) throws -> SourceStamps {
        let bytes = try readFile(path)
        var files: [File] = []
        var folders: [Folder] = []
        var line = 0
        try bytes.withUnsafeBufferPointer { buffer in
            try TabSeparatedLines.forEach(in: buffer) { f in
                line += 1
                let kind = f[0].count == 1 ? f[0][0] : 0
                if kind == UInt8(ascii: "F"), f.count == 6, let stamp = f.stamp(at: 1), f[5].first == UInt8(ascii: "/") {
                    files.append(File(path: f.string(5), stamp: stamp))
                } else if kind == UInt8(ascii: "D"), f.count == 3, let mtime = f.integer(1), f[2].first == UInt8(ascii: "/") {
                    folders.append(Folder(path: f.string(2), mtimeNanoseconds: mtime))
                } else {
                    throw FileError(path: path, reason: "line \(line) is not a source stamp (F size mtime ctime inode path, or D mtime path)")
                }
            }
        }
        return SourceStamps(files: files, folders: folders)
    }

    /// What changed, up to `limit` items; a missing or unreadable stamps file counts as a change.
    /// Files are stat-ed relative to their folder, opened once for each run of files in it.
    public static func changes(at path: String, limit: Int) -> [String] {
        guard let bytes = try? readFile(path) else { return ["source stamps \(path) are missing"] }
        var out: [String] = []
        var folder: [UInt8] = []
        var folderFD: Int32 = -1
        defer { if folderFD >= 0 { close(folderFD) } }
        bytes.withUnsafeBufferPointer { buffer in
            TabSeparatedLines.forEach(in: buffer) { f in
                guard out.count < limit else { return }
                let kind = f[0].count == 1 ? f[0][0] : 0
                if kind == UInt8(ascii: "F"), f.count == 5 {
                    out.append("source stamps \(path) are from an older mammoflow (no ctime): ingest again")
                } else if kind == UInt8(ascii: "F"), f.count == 6 {
                    let file = f[5]
                    guard let slash = file.lastIndex(of: UInt8(ascii: "/")) else { out.append("source file \(f.string(5)) is gone"); return }
                    if !folder.elementsEqual(file[..<slash]) {
                        if folderFD >= 0 { close(folderFD) }
                        folder = Array(file[..<slash])
                        folderFD = open(slash == 0 ? "/" : String(decoding: folder, as: UTF8.self), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    }
                    let name = String(decoding: UnsafeBufferPointer(rebasing: file[(slash + 1)...]), as: UTF8.self)
                    let stamp = folderFD >= 0 ? FileStamp.of(name, in: folderFD) : nil
                    if stamp == nil { out.append("source file \(f.string(5)) is gone") }
                    else if stamp != f.stamp(at: 1) {
                        out.append("source file \(f.string(5)) changed")
                    }
                } else if kind == UInt8(ascii: "D"), f.count == 3 {
                    if FileStamp.of(f.string(2))?.mtimeNanoseconds != f.integer(1) {
                        out.append("source folder \(f.string(2)) changed (files added or removed)")
                    }
                } else {
                    out.append("source stamps \(path) are damaged")
                }
            }
        }
        return out
    }

    static func commonRoot(_ paths: [String]) -> String {
        guard var root = paths.first else { return "/" }
        for p in paths.dropFirst() {
            while !(p == root || p.hasPrefix(root.hasSuffix("/") ? root : root + "/")) {
                root = parent(root)
            }
        }
        return root
    }

    /// The folder of an absolute path ("/a/b" -> "/a", "/a" -> "/"); NSString's version normalises the whole
    /// path on every call, which showed in profiles over 54,706 files.
    public static func parent(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }
}
