// mammoflow-ingest: a dataset in RSNA's layout, outside the cache, as an artifact.
//
// params: { path: DIR } where DIR holds train.csv (or test.csv) and train_images|test_images/<patient_id>/<image_id>.dcm.
// The manifest lists every file under DIR with its path relative to DIR, SHA-256, size and `source` (its absolute
// path): the files stay where they are. Hashes come from the stat cache named by MAMMOFLOW_STAT_CACHE (set by the
// scheduler to cache/state/sources.tsv), so an unchanged file costs one stat, not a read.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards
import Stages
import Validation

/// Regular files under `root`, as paths relative to it, sorted; hidden files and folders are skipped.
func listFiles(_ root: String) -> [String] {
    var out: [String] = []
    func walk(_ relative: String) {
        let dir = relative.isEmpty ? root : "\(root)/\(relative)"
        guard let handle = opendir(dir) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            let path = relative.isEmpty ? name : "\(relative)/\(name)"
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) || type == UInt8(DT_LNK) {
                var st = stat()
                guard stat("\(root)/\(path)", &st) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : ((st.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0)
            }
            if type == UInt8(DT_DIR) { walk(path) } else if type == UInt8(DT_REG) { out.append(path) }
        }
    }
    walk("")
    return out.sorted()
}

/// The (patient_id, image_id) pairs a RSNA table lists.
func tableImages(_ path: String, stage: String) throws -> [(patient: String, image: String)] {
    let table: CSVTable
    do { table = try CSVTable(contentsOf: path) } catch {
        throw StageError(stage: stage, reason: "\(error)")
    }
    guard let p = table.header.firstIndex(of: "patient_id"), let i = table.header.firstIndex(of: "image_id") else {
        throw StageError(stage: stage, reason: "\(path) has no patient_id and image_id columns (header: \(table.header.joined(separator: ",")))")
    }
    return table.rows.map { ($0[p].trimmingCharacters(in: .whitespaces), $0[i].trimmingCharacters(in: .whitespaces)) }
}

runStage("ingest") { context in
    let root = try context.params.string("path", default: "")
    guard !root.isEmpty else {
        throw StageError(stage: context.stage, reason: "param 'path' is required: the dataset folder (e.g. --set \(context.stage).path=/data/rsna)")
    }
    let dir = URL(fileURLWithPath: root).standardizedFileURL.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw StageError(stage: context.stage, reason: "dataset folder \(dir) does not exist or is not a folder")
    }
    guard let split = ["train", "test"].first(where: { FileManager.default.fileExists(atPath: "\(dir)/\($0).csv") }) else {
        throw StageError(stage: context.stage, reason: "\(dir) is not in RSNA's layout: it has neither train.csv nor test.csv")
    }

    let files = listFiles(dir)
    let cachePath = ProcessInfo.processInfo.environment["MAMMOFLOW_STAT_CACHE"]
    let cache = StatCache(path: cachePath ?? "/dev/null")
    context.log("ingest \(dir): \(files.count) files, stat cache \(cachePath ?? "(none: MAMMOFLOW_STAT_CACHE unset)")")

    var listed: [ArtifactFile] = []
    listed.reserveCapacity(files.count)
    orderedParallelMap(count: files.count, threads: context.threads, window: 256, work: { i -> Result<(String, FileStamp), Error> in
        Result { try cache.sha256(ofFile: "\(dir)/\(files[i])") }
    }, consume: { i, result in
        switch result {
        case .success(let (sha, stamp)):
            listed.append(ArtifactFile(path: files[i], sha256: sha, size: stamp.size, source: "\(dir)/\(files[i])"))
        case .failure(let error):
            context.reject(key: files[i], file: "\(dir)/\(files[i])", reason: "cannot hash: \(error)")
        }
        if i % 256 == 0 || i == files.count - 1 { context.progress(done: i + 1, total: files.count) }
    })
    if cachePath != nil { try cache.flush() }

    // Images the table lists must exist; images on disk the table does not list are reported.
    let images = Set(files.filter { $0.hasPrefix("\(split)_images/") && $0.hasSuffix(".dcm") })
    let table = try tableImages("\(dir)/\(split).csv", stage: context.stage)
    var expected = Set<String>()
    for (patient, image) in table {
        let path = "\(split)_images/\(patient)/\(image).dcm"
        expected.insert(path)
        if !images.contains(path) { context.reject(key: image, file: "\(dir)/\(path)", reason: "listed in \(split).csv but missing") }
    }
    let unlisted = images.subtracting(expected).count
    if unlisted > 0 { context.log("\(unlisted) images on disk are not listed in \(split).csv") }
    try context.finish(records: images.intersection(expected).count, summary: [
        "split": .string(split), "images": .int(Int64(images.count)), "table_rows": .int(Int64(table.count)),
        "patients": .int(Int64(Set(table.map(\.patient)).count)), "unlisted_images": .int(Int64(unlisted)),
        "hashed_files": .int(Int64(cache.hashedCount)),
    ], sources: listed)
}
