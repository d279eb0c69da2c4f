import Foundation
import Pipeline
import Shards
import Testing

// Source files (outside the store) are stamped by the stage that hashed them when it reports stamps, and by
// the scheduler through the stat cache otherwise; either way `runs/<key>.sources` ends up stamping exactly them.

@Test func theSchedulerTakesTheStagesStampsOrStampsTheSourcesItself() throws {
    let ws = try Workspace()
    try write("\(ws.root)/data/image.dcm", "pixels")
    let source = "\(ws.root)/data/image.dcm"
    for mode in ["reported", "none"] {
        try write("\(ws.root)/p.yaml", "stages:\n  a: { run: stage-a, params: { source: \"\(source)\", stamps: \(mode) } }\n")
        let report = try ws.run("p.yaml", executor: FakeExecutor())
        #expect(report.succeeded, "\(report.failed)")
        let record = try #require(try ws.engine("p.yaml").states().first?.state)
        guard case .fresh(_, let records) = record else { Issue.record("a is stale after its run (\(mode))"); continue }
        let stamps = try SourceStamps.read(ws.store.sourcesPath(records[0].key))
        #expect(stamps.files == [SourceStamps.File(path: source, stamp: FileStamp.of(source)!)])
        // The fake stage stamps no folder (the scheduler would stamp the file's folder): its file was taken as it was.
        let folder = SourceStamps.Folder(path: "\(ws.root)/data", mtimeNanoseconds: FileStamp.of("\(ws.root)/data")!.mtimeNanoseconds)
        #expect(stamps.folders == (mode == "reported" ? [] : [folder]))
    }
}

@Test func stampsThatDoNotCoverTheSourcesFailTheCommit() throws {
    let ws = try Workspace()
    try write("\(ws.root)/data/image.dcm", "pixels")
    try write("\(ws.root)/p.yaml", "stages:\n  a: { run: stage-a, params: { source: \"\(ws.root)/data/image.dcm\", stamps: wrong } }\n")
    let report = try ws.run("p.yaml", executor: FakeExecutor())
    #expect(!report.succeeded)
    let failure = try #require(report.failed["a"])
    #expect(failure.contains("source-stamps.tsv does not stamp exactly the manifest's source files"), "\(failure)")
    #expect(failure.contains("not stamped: \(ws.root)/data/image.dcm"))
    #expect(ws.store.allRunKeys().isEmpty)
}

@Test func runRecordsAndKeysKeepTheirCodableBytes() throws {
    // Cache keys made before the hand-written JSON forms must not change: same bytes as Foundation's route.
    let parts = KeyParts(executable: String(repeating: "e", count: 64), params: ["factor": 4, "voi": "window", "f": 0.5],
                         inputs: ["decode": String(repeating: "1", count: 64), "b": "2"], slices: 2)
    #expect(parts.canonicalJSON == (try JSONValue(encoding: parts).canonicalBytes))
    #expect(parts.key == Digest.sha256Hex(try JSONValue(encoding: parts).canonicalBytes))
    let manifest = ArtifactManifest(stage: "s", files: [ArtifactFile(path: "x", sha256: "y", size: 1, source: "/x")], records: 1,
                                    rejects: [Reject(key: "k", reason: "r")], summary: ["a": [1, 2]])
    let record = RunRecord(key: parts.key, parts: parts, manifest: manifest, stage: "s", pipeline: "/p.yaml", seconds: 1.25)
    let reference = try JSONValue(encoding: record).canonicalBytes
    #expect(record.canonicalJSON == reference)
    #expect(try RunRecord(jsonBytes: reference) == record)
    #expect(try JSONDecoder().decode(RunRecord.self, from: Data(record.canonicalJSON)) == record)
    // The scheduler splices a stage's manifest text into the record as it was written (here: pretty-printed).
    let store = Store(root: try scratch())
    try store.createLayout()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted]
    try store.writeRun(record, manifestJSON: Array(encoder.encode(manifest)))
    #expect(store.readRun(record.key) == record)
}
