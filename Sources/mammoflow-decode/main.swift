// mammoflow-decode: a dataset in RSNA's layout (from `synth` or `ingest`) to image shards.
//
// params: declared below (`mammoflow params decode`). values: window16/window8 apply the Modality LUT, the VOI
// window or LUT and invert MONOCHROME1 (bright = dense); stored keeps the stored values; minmax8 is the RSNA
// study's per-image min-max to 8 bits, no window. reduce N (default 2, 1/4 per side): JPEG 2000 skips the finer
// wavelet levels, other encodings are area-averaged as they are decoded; with reduce_by area JPEG 2000 is decoded
// in full and area-averaged too; recorded as metadata `reduce` (and `reduce_by`) for downscale.
// Input: train.csv (else test.csv) and train_images/ (test_images/) <patient_id>/<image_id>.dcm.
// Output: one record per image, key "<patient_id>/<image_id>", metadata = the row's image-describing cells
// (`CohortRows.imageColumns`, typed) + `dicom` header facts + `source` {path, sha256} + `values` + `reduce` +
// `inputs_sha256` (the digest of key, those cells and source: with the job's `reuse`, an earlier run's record
// with the same digest is copied, not decoded again); labels and clinical columns stay in the table, joined
// where they are used, so that a label fix leaves these records as they were. Rejects: unreadable, truncated,
// unsupported encoding, corrupt pixels, constant image, table row without a file, file without a row, an
// image-describing cell outside its kind. A file whose SHA-256 is not the one its input listed fails the job
// (InputIntegrityError).
import DICOM
import Foundation
import Shards
import Stages
import Validation
#if os(Linux)
/// glibc's mallopt and its M_MMAP_THRESHOLD (malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
let mmapThreshold: Int32 = -3
#endif

/// Fixes glibc's mmap threshold for this decode. glibc raises it to the largest block freed (up to 32 MB), after
/// which freed codestreams and compressed full-size images stay in the heap and the peak grows: when full-size
/// images are made, every block of 4 MB or more goes back to the system when freed (reduce 0's peak with 2
/// workers: about 560 MB without, 373 MB with). At a reduced level nothing full-size is made and a codestream
/// copy is the largest block: kept in the heap below 32 MB (glibc's largest threshold), the next image reuses it
/// instead of faulting in and zeroing fresh pages (the bench archive up to pectoral 7.46 -> 7.17 s, best of 3;
/// decode's peak 161 -> 208 MB, 220-230 MB with eight waiting records per worker).
func fixMmapThreshold(fullSize: Bool) {
    #if os(Linux)
    let fixed = mallopt(mmapThreshold, fullSize ? 4 << 20 : 32 << 20)
    assert(fixed == 1, "mallopt refused the mmap threshold")
    #endif
}

/// One image to decode: its table row and its file, or one of them missing.
struct Job {
    let key: String
    let row: JSONValue?
    let file: ArtifactFile?
}

/// A table cell as JSON: whole numbers as ints, other numbers as doubles, True/False as booleans, empty as
/// null, else text.
func typedCell(_ text: String) -> JSONValue {
    let t = text.trimmingCharacters(in: .whitespaces)
    if t.isEmpty { return .null }
    if t == "True" || t == "False" { return .bool(t == "True") }
    if let i = Int64(t) { return .int(i) }
    if let d = Double(t), d.isFinite, t.rangeOfCharacter(from: .letters) == nil { return .double(d) }
    return .string(t)
}

/// The rows of an RSNA table, keyed "<patient_id>/<image_id>", each as an object of its typed
/// image-describing cells (`CohortRows.imageColumns`), and the keys of rows with such a cell outside its
/// column's kind, with the reason. Other cells are not read: what they hold is for the stages that use them.
func readTable(_ bytes: [UInt8], path: String, name: String, stage: String) throws -> (rows: [String: JSONValue], bad: [String: String]) {
    let table: CSVTable
    do { table = try CSVTable(parsing: bytes, file: path) } catch {
        throw StageError(stage: stage, reason: "\(name): \(error)")
    }
    guard let p = table.header.firstIndex(of: "patient_id"), let i = table.header.firstIndex(of: "image_id") else {
        throw StageError(stage: stage, reason: "\(name) has no patient_id and image_id columns")
    }
    let described = CohortRows.imageColumns.compactMap { column in table.header.firstIndex(of: column).map { (column, $0) } }
    var rows: [String: JSONValue] = [:], bad: [String: String] = [:]
    for (r, cells) in table.rows.enumerated() {
        let key = "\(cells[p].trimmingBlanks)/\(cells[i].trimmingBlanks)"
        if let problem = CohortRows.imageProblem(ofRow: r, in: table) {
            bad[key] = problem
            continue
        }
        rows[key] = .object(Dictionary(uniqueKeysWithValues: described.map { ($0.0, typedCell(cells[$0.1])) }))
    }
    return (rows, bad)
}

/// Matches table rows with image files; keys in ascending order (shards need it).
func pairRowsWithFiles(rows: [String: JSONValue], files: [ArtifactFile], folder: String) -> [Job] {
    var images: [String: ArtifactFile] = [:]
    for f in files where f.path.hasPrefix("\(folder)/") && f.path.hasSuffix(".dcm") {
        let parts = f.path.dropFirst(folder.count + 1).dropLast(4).split(separator: "/")
        if parts.count == 2 { images["\(parts[0])/\(parts[1])"] = f }
    }
    let keys = Set(rows.keys).union(images.keys).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return keys.map { Job(key: $0, row: rows[$0], file: images[$0]) }
}

/// The digest of a record's own inputs (RecordReuse): the file as its input listed it and the table cells that
/// reach the record.
func ownInputs(_ key: String, row: JSONValue, file: ArtifactFile) -> String {
    RecordReuse.digest(["key": .string(key), "row": row, "source": ["path": .string(file.path), "sha256": .string(file.sha256)]])
}

/// An image whose every stored value is the same: nothing to see, a reject.
struct ConstantImage: Error {
    let value: Int64
    var reason: String { value == 0 ? "all-zero image" : "constant image (every stored value is \(value))" }
}

enum Outcome {
    /// Compressed by the worker: only compressed images wait for the writer.
    case image(CompressedRecord, metadata: JSONValue)
    /// The record an earlier run made from the same file and row: the writer links its shard or copies it.
    case earlier(EarlierRecord)
    case reject(file: String?, reason: String)
    /// The job cannot go on: an input that fails its integrity check, a param that does not fit a file.
    case fail(Error)
}

let params = [
    ParamSpec("values", .string, default: "window16", choices: OutputValues.allCases.map(\.rawValue),
              help: "how stored values become samples (DICOM.OutputValues)"),
    // 2 by default: full-size mammograms are worked on at 1/4 (the study's downscale), and decoding straight to it
    // is several times faster; 0 is the study's full decode (docs/dicom.md compares the two).
    ParamSpec("reduce", .int, default: 2, minimum: 0, maximum: 8, help: "decode at 1/2^N of each side (0: full size)"),
    // levels by default: several times faster for JPEG 2000; area gives exact block means of the full decode for
    // every encoding, in one pass, without the study's full-size shards (docs/dicom.md compares the three paths).
    ParamSpec("reduce_by", .string, default: "levels", choices: ReductionMethod.allCases.map(\.rawValue),
              help: "levels: JPEG 2000 from its resolution levels, other encodings area-averaged; area: every encoding decoded in full and area-averaged"),
    ParamSpec("voi", .int, default: 0, minimum: 0, help: "which window (or VOI LUT) of a file to use when it has several"),
]

runStage("decode", params: params, reusesRecords: true) { context in
    let p = context.params
    let values = OutputValues(rawValue: try p.string("values"))!
    let reduce = try p.int("reduce")
    let method = ReductionMethod(rawValue: try p.string("reduce_by"))!
    let voi = try p.int("voi")
    // Whether full-size images are made (and held) here.
    let fullSize = reduce == 0 || method == .area
    fixMmapThreshold(fullSize: fullSize)

    let (_, input) = try context.soleInput()
    let (tableName, folder): (String, String) =
        input.file("train.csv") != nil ? ("train.csv", "train_images") : ("test.csv", "test_images")
    guard let table = input.file(tableName) else {
        throw StageError(stage: context.stage, reason: "the input has neither train.csv nor test.csv")
    }
    // Rejects name the table as its input does (the dataset's file, or the artifact's train.csv), not by its
    // place in the store, whose name is the table's hash: labels must not reach decode's artifact that way.
    let (rows, badRows) = try readTable(try context.verifiedContents(of: table), path: table.source ?? table.path,
                                        name: tableName, stage: context.stage)
    // What the input already rejected (ingest: a missing or unreadable file, a bad image-describing cell) is
    // reported there, once.
    let rejectedUpstream = Set(input.rejects.map(\.key))
    var rejected = 0
    for (key, problem) in badRows.sorted(by: { $0.key < $1.key }) where !rejectedUpstream.contains(key) {
        context.reject(key: key, file: table.source ?? table.path, reason: problem)
        rejected += 1
    }
    var jobs = pairRowsWithFiles(rows: rows, files: input.files, folder: folder)
        .filter { !rejectedUpstream.contains($0.key) && badRows[$0.key] == nil }
    if let slice = context.job.slice {
        jobs = jobs.enumerated().filter { slice.contains(position: $0.offset) }.map(\.element)
    }

    // Several workers decode one image each with one thread; a single worker gives libopenjp2 every thread.
    let workers = min(context.threads, max(1, jobs.count))
    let codecThreads = workers > 1 ? 1 : context.threads
    let earlier = try context.earlierRecords()
    let candidates = jobs.map { job in
        ReuseCandidate(key: job.key, inputs: job.row.flatMap { row in job.file.map { ownInputs(job.key, row: row, file: $0) } })
    }
    if context.planningReuse {
        let copies = earlier?.copyable(candidates) ?? 0
        try context.planReuse(reused: copies, computed: jobs.count - copies)
    }
    let writer = context.shardWriter()
    var written = 0, reused = 0
    let started = Date()
    // At most one finished image per worker waits for the writer when this decode makes full-size images (what
    // a worker holds is then tens of MB). At a reduced level a record is a few hundred kB, and with one per
    // worker a worker waited while the other decoded a large J2K image (both cores busy 1.5 of them for half
    // a second on the bench archive): eight per worker.
    let window = fullSize ? workers : 8 * workers
    try orderedParallelMap(count: jobs.count, threads: workers, window: window, work: { i -> Outcome in
        let job = jobs[i]
        guard let file = job.file else { return .reject(file: nil, reason: "table row without a file under \(folder)/") }
        guard let row = job.row, let inputs = candidates[i].inputs else {
            return .reject(file: file.path, reason: "file without a row in \(tableName)")
        }
        do {
            if let record = earlier?.record(key: job.key, inputs: inputs) { return .earlier(record) }
            let path = try context.location(of: file)
            let dicom: DICOMFile
            do { dicom = try DICOMFile(path: path) } catch {
                // An unreadable file is a reject only if it is the file that was listed.
                try InputIntegrityError.check(sha256: try Digest.sha256Hex(file: path), of: file, at: path)
                throw error
            }
            // The bytes decode reads must be the ones its input listed (ingest hashed each source file, synth
            // each file it wrote): a file that differs fails the job rather than yield a record of other bytes.
            try InputIntegrityError.check(sha256: dicom.withFileBytes { Digest.hex(Digest.sha256($0)) }, of: file, at: path)
            let header = try dicom.header()
            // Past a file's last window the renderer would quietly use the last: the user asked for another.
            let windows = header.voiLUTs.isEmpty ? header.windows.count : header.voiLUTs.count
            if voi > 0 && voi >= windows && values != .stored && values != .minmax8 {
                return .fail(StageError(stage: context.stage, reason: "param voi=\(voi), but \(file.path) has \(windows) window\(windows == 1 ? "" : "s") (voi 0\(windows > 1 ? "-\(windows - 1)" : ""))"))
            }
            // Rendered from the codec's buffer where it has one: a full-size image is held once, not copied.
            let rendered = try dicom.withDecodedFrame(reduce: reduce, by: method, threads: codecThreads) { pixels -> Result<RenderedImage, ConstantImage> in
                let (low, high) = pixels.storedRange()
                guard low != high else { return .failure(ConstantImage(value: low)) }
                return .success(try PixelSemantics(header: header, voiIndex: voi).render(pixels, as: values, range: (low, high)))
            }
            let image: RenderedImage
            switch rendered {
            case .success(let made): image = made
            case .failure(let constant): return .reject(file: file.path, reason: constant.reason)
            }
            let payload = ImagePayload(width: image.width, height: image.height, bits: image.bits, samples: image.samples)
            let metadata = row.adding([
                "dicom": try JSONValue(encoding: HeaderFacts(header, voiIndex: voi)),
                "source": ["path": .string(file.path), "sha256": .string(file.sha256)],
                "values": .string(values.rawValue),
                "reduce": .int(Int64(reduce)),
                "reduce_by": .string(method.rawValue),
                RecordReuse.field: .string(inputs),
            ])
            return .image(try payload.compressed(), metadata: metadata)
        } catch let error as InputIntegrityError {
            return .fail(error)
        } catch let error as DICOMError {
            return .reject(file: file.path, reason: "\(error.kind.rawValue): \(error.reason)")
        } catch {
            return .reject(file: file.path, reason: "\(error)")
        }
    }, consume: { i, outcome in
        switch outcome {
        case .image(let record, let metadata):
            try writer.append(key: jobs[i].key, metadata: metadata, compressed: record)
            written += 1
        case .earlier(let record):
            try writer.append(earlier: record)
            written += 1
            reused += 1
        case .reject(let file, let reason):
            context.reject(key: jobs[i].key, file: file, reason: reason)
            rejected += 1
        case .fail(let error):
            throw error
        }
        context.progress(done: i + 1, total: jobs.count)
    })
    let seconds = Date().timeIntervalSince(started)
    context.log("decoded \(written - reused) and took \(reused) from an earlier run of \(jobs.count) images in \(String(format: "%.1f", seconds)) s with \(workers) workers")
    try context.finishWriting(writer, reused: reused, computed: jobs.count - reused)
    try context.finish(records: written, summary: [
        "images": .int(Int64(written)), "rejects": .int(Int64(rejected)), "values": .string(values.rawValue),
        "reduce": .int(Int64(reduce)), "reduce_by": .string(method.rawValue),
    ])
}
