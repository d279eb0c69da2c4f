// mammoflow-ingest: a dataset in RSNA's layout, outside the cache, as an artifact.
//
// params: { path: DIR } where DIR holds train.csv (or test.csv) and train_images|test_images/<patient_id>/<image_id>.dcm.
// The manifest lists every file under DIR with its path relative to DIR, SHA-256, size and `source` (its absolute
// path): the files stay where they are. Hashes come from the stat cache named by MAMMOFLOW_STAT_CACHE (set by the
// scheduler to cache/state/sources.tsv), so an unchanged file costs one stat, not a read. The stamps of the files
// and folders go to MAMMOFLOW_SOURCE_STAMPS, so the scheduler need not stat them all again.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards
import Stages
import Validation

/// One folder of the dataset as the scan saw it: stamped before it was listed (so a file added later changes
/// the stamp), its subfolders, and each of its files hashed through the stat cache relative to the folder's
/// descriptor (one `fstatat` per remembered file, no path walk from the root).
struct FolderScan {
    var stamp: SourceStamps.Folder?
    var subfolders: [String] = []
    var files: [(path: String, hashed: Result<(sha256: String, stamp: FileStamp), Error>)] = []
    var failure: String?
}

/// Scans folder `relative` of `root` (hidden entries skipped; symbolic links followed).
func scanFolder(root: String, relative: String, cache: StatCache) -> FolderScan {
    var scan = FolderScan()
    let path = relative.isEmpty ? root : "\(root)/\(relative)"
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else {
        scan.failure = "cannot open the folder: \(String(cString: strerror(errno)))"
        return scan
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, let handle = fdopendir(dup(fd)) else {
        scan.failure = "cannot read the folder: \(String(cString: strerror(errno)))"
        return scan
    }
    scan.stamp = SourceStamps.Folder(path: path, mtimeNanoseconds: FileStamp(st).mtimeNanoseconds)
    var names: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasPrefix(".") { continue }
        var type = entry.pointee.d_type
        if type == UInt8(DT_UNKNOWN) || type == UInt8(DT_LNK) {
            var target = stat()
            guard fstatat(fd, name, &target, 0) == 0 else { continue }
            type = (target.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : ((target.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0)
        }
        let child = relative.isEmpty ? name : "\(relative)/\(name)"
        if type == UInt8(DT_DIR) { scan.subfolders.append(child) } else if type == UInt8(DT_REG) { names.append(name) }
    }
    closedir(handle)
    // In name order, with the folders of a level in path order too, the files arrive almost sorted: the
    // final sort of 54,706 paths is then nearly a linear pass.
    names.sort()
    scan.subfolders.sort()
    scan.files = names.map { name in
        (relative.isEmpty ? name : "\(relative)/\(name)", Result { try cache.sha256(of: name, in: fd, directoryPath: path) })
    }
    return scan
}

/// The (patient_id, image_id) pairs a RSNA table lists, each with what is wrong with its image-describing
/// cells (`CohortRows.imageColumns`), if anything. Label and clinical cells are checked where they are used
/// (folds, train, predict, score): decode carries ingest's rejects forward, so a reject for a label here
/// would change the image stages' artifacts.
func tableImages(_ path: String, stage: String) throws -> [(patient: String, image: String, problem: String?)] {
    let table: CSVTable
    do { table = try CSVTable(contentsOf: path) } catch {
        throw StageError(stage: stage, reason: "\(error)")
    }
    guard let p = table.header.firstIndex(of: "patient_id"), let i = table.header.firstIndex(of: "image_id") else {
        throw StageError(stage: stage, reason: "\(path) has no patient_id and image_id columns (header: \(table.header.joined(separator: ",")))")
    }
    return table.rows.indices.map { r in
        (table.rows[r][p].trimmingBlanks, table.rows[r][i].trimmingBlanks, CohortRows.imageProblem(ofRow: r, in: table))
    }
}

let params = [
    ParamSpec("path", .path, help: "the dataset folder, in RSNA's layout (e.g. --set ingest.path=/data/rsna)"),
]

runStage("ingest", params: params) { context in
    let root = try context.params.string("path")
    let dir = URL(fileURLWithPath: root).standardizedFileURL.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw StageError(stage: context.stage, reason: "dataset folder \(dir) does not exist or is not a folder")
    }
    guard let split = ["train", "test"].first(where: { FileManager.default.fileExists(atPath: "\(dir)/\($0).csv") }) else {
        throw StageError(stage: context.stage, reason: "\(dir) is not in RSNA's layout: it has neither train.csv nor test.csv")
    }

    /// A reject's key: an image's record key (`<patient_id>/<image_id>`, as decode names it, so that a file
    /// that failed here is reported once), else the path.
    func rejectKey(_ path: String) -> String {
        let prefix = "\(split)_images/"
        guard path.hasPrefix(prefix), path.hasSuffix(".dcm") else { return path }
        return String(path.dropFirst(prefix.count).dropLast(4))
    }

    let cachePath = ProcessInfo.processInfo.environment["MAMMOFLOW_STAT_CACHE"]
    let cache = StatCache(path: cachePath ?? "/dev/null")
    context.log("ingest \(dir): stat cache \(cachePath ?? "(none: MAMMOFLOW_STAT_CACHE unset)") with \(cache.count) files")

    // Breadth first, each level's folders scanned in parallel.
    var hashed: [(path: String, sha256: String, stamp: FileStamp)] = []
    var folders: [SourceStamps.Folder] = []
    var level = [""]
    var scanned = 0, known = 1
    while !level.isEmpty {
        var next: [String] = []
        // Folders go to the workers in groups: one hand-over per folder cost more in locking than the folder.
        // A level of few folders (28 patients) gets small groups, so that the workers get even shares.
        let group = max(1, min(16, level.count / (4 * context.threads)))
        let groups = (level.count + group - 1) / group
        orderedParallelMap(count: groups, threads: context.threads, window: 16, work: { g -> [FolderScan] in
            (g * group..<min(level.count, (g + 1) * group)).map { scanFolder(root: dir, relative: level[$0], cache: cache) }
        }, consume: { (g: Int, scans: [FolderScan]) in
            for (k, scan) in scans.enumerated() {
                let i = g * group + k
                if let failure = scan.failure { context.reject(key: level[i], file: "\(dir)/\(level[i])", reason: failure) }
                if let stamp = scan.stamp { folders.append(stamp) }
                next += scan.subfolders
                for (path, result) in scan.files {
                    switch result {
                    case .success(let (sha, stamp)): hashed.append((path, sha, stamp))
                    case .failure(let error): context.reject(key: rejectKey(path), file: "\(dir)/\(path)", reason: "cannot hash: \(error)")
                    }
                }
                known += scan.subfolders.count
            }
            scanned += scans.count
            context.progress(done: scanned, total: known)
        })
        level = next.sorted()
    }
    if cachePath != nil { try cache.flush() }
    context.log("\(hashed.count) files in \(scanned) folders, \(cache.hashedCount) hashed, the others unchanged since the stat cache saw them")
    hashed.sort { $0.path < $1.path }
    let files = hashed.map(\.path)
    var listed: [ArtifactFile] = []
    var stamped: [SourceStamps.File] = []
    listed.reserveCapacity(hashed.count)
    stamped.reserveCapacity(hashed.count)
    for (path, sha, stamp) in hashed {
        let source = "\(dir)/\(path)"
        listed.append(ArtifactFile(path: path, sha256: sha, size: stamp.size, source: source))
        stamped.append(SourceStamps.File(path: source, stamp: stamp))
    }
    let stamps = SourceStamps(files: stamped, folders: folders.sorted { $0.path < $1.path })

    // Images the table lists must exist; images on disk the table does not list are reported.
    let images = Set(files.filter { $0.hasPrefix("\(split)_images/") && $0.hasSuffix(".dcm") })
    let table = try tableImages("\(dir)/\(split).csv", stage: context.stage)
    var expected = Set<String>(minimumCapacity: table.count)
    var listedImages = 0
    for (patient, image, problem) in table {
        let path = "\(split)_images/\(patient)/\(image).dcm"
        if let problem {
            context.reject(key: rejectKey(path), file: "\(dir)/\(split).csv", reason: problem)
            continue
        }
        let new = expected.insert(path).inserted
        if !images.contains(path) { context.reject(key: rejectKey(path), file: "\(dir)/\(path)", reason: "listed in \(split).csv but missing") }
        else if new { listedImages += 1 }
    }
    let unlisted = images.count - listedImages
    if unlisted > 0 { context.log("\(unlisted) images on disk are not listed in \(split).csv") }
    try context.finish(records: listedImages, summary: [
        "split": .string(split), "images": .int(Int64(images.count)), "table_rows": .int(Int64(table.count)),
        "patients": .int(Int64(Set(table.map(\.patient)).count)), "unlisted_images": .int(Int64(unlisted)),
    ], sources: listed, sourceStamps: stamps)
    // Done: end here rather than free every entry and its strings one by one (docs/measurements.md); the OS
    // takes it all.
    exit(0)
}
