#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Pipeline
import Shards
import StageTesting
import Testing

/// Record reuse with the real image stages: after each edit of a small synthetic dataset, an incremental rerun
/// writes the artifacts a cold run on the same files writes (content ids equal), and each image stage computes
/// exactly the records whose own inputs changed (counted from `run`'s summary).
@Suite(.serialized) struct RecordReuseRunTests {
    static let imageStages = ["decode", "downscale", "crop", "pectoral"]

    struct Setup {
        let root: String
        let mammoflow: String
        var data: String { "\(root)/data" }
        var extra: String { "\(root)/extra" }

        init(slices: Int = 1) throws {
            let products = try #require(builtProductsDirectory(), "build the package first: the mammoflow binary was not found")
            mammoflow = "\(products)/mammoflow"
            root = try scratch("record-reuse")
            for (folder, patients, seed) in [(data, 5, 3), (extra, 2, 8)] {
                let made = try runProcess(mammoflow, ["synth", "--out", folder, "--patients", "\(patients)", "--seed", "\(seed)", "--scale", "0.08"])
                try #require(made.status == 0, "synth failed: \(made.output)")
            }
            let sliced = slices > 1 ? ", slices: \(slices)" : ""
            try write("\(root)/p.yaml", """
                stages:
                  ingest:    { run: mammoflow-ingest, params: { path: "\(data)" } }
                  decode:    { run: mammoflow-decode, deps: [ingest], params: { reduce: 0 }\(sliced) }
                  downscale: { run: mammoflow-downscale, deps: [decode], params: { factor: 2 } }
                  crop:      { run: mammoflow-crop, deps: [downscale]\(sliced) }
                  pectoral:  { run: mammoflow-pectoral, deps: [crop] }
                """)
        }

        /// Runs the pipeline with `cache`; returns the records each image stage computed and copied.
        func run(cache: String) throws -> [String: (computed: Int, copied: Int)] {
            let result = try runProcess(mammoflow, ["run", "p.yaml", "--cache", "\(root)/\(cache)"], cwd: root)
            try #require(result.status == 0, "run failed:\n\(result.output.suffix(3000))")
            var counts: [String: (Int, Int)] = [:]
            for line in result.output.split(separator: "\n") {
                // "decode: 3 records computed, 27 copied from an earlier run"
                let words = line.split(separator: " ")
                guard words.count >= 5, words[0].hasSuffix(":"), words[2].hasPrefix("record"), words[3] == "computed,",
                      let computed = Int(words[1]), let copied = Int(words[4]) else { continue }
                counts[String(words[0].dropLast())] = (computed, copied)
            }
            return counts
        }

        /// The content id of each image stage's last artifact in `cache`.
        func contentIDs(cache: String) throws -> [String: String] {
            let store = Store(root: "\(root)/\(cache)")
            var ids: [String: String] = [:]
            for stage in RecordReuseRunTests.imageStages {
                let last = try #require(store.lastRun(pipeline: "\(root)/p.yaml", stage: stage)?.first)
                ids[stage] = try #require(store.readRun(last.key)).manifest.contentID
            }
            return ids
        }

        /// After an edit: the warm cache's rerun against a cold run in a fresh cache; returns the warm counts.
        func rerunMatchesCold(_ cold: String) throws -> [String: (computed: Int, copied: Int)] {
            let counts = try run(cache: "warm")
            _ = try run(cache: cold)
            #expect(try contentIDs(cache: "warm") == contentIDs(cache: cold), "after \(cold)")
            return counts
        }

        /// How many job logs of the warm cache contain `text`.
        func logsSaying(_ text: String) throws -> Int {
            let logs = "\(root)/warm/logs"
            return try FileManager.default.contentsOfDirectory(atPath: logs)
                .filter { try String(contentsOfFile: "\(logs)/\($0)", encoding: .utf8).contains(text) }.count
        }

        func table() throws -> [[String]] {
            try String(contentsOfFile: "\(data)/train.csv", encoding: .utf8).split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }

        func writeTable(_ rows: [[String]]) throws {
            try write("\(data)/train.csv", rows.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n")
        }

        func column(_ name: String) throws -> Int { try #require(try table()[0].firstIndex(of: name)) }
        func imagePath(_ root: String, _ row: [String], _ table: [[String]]) -> String {
            let p = table[0].firstIndex(of: "patient_id")!, i = table[0].firstIndex(of: "image_id")!
            return "\(root)/train_images/\(row[p])/\(row[i]).dcm"
        }
    }

    /// Every image stage computed `n` records (downscale, whose factor decode did not apply, included).
    func expectComputed(_ counts: [String: (computed: Int, copied: Int)], _ n: Int, _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        for stage in Self.imageStages {
            #expect(counts[stage]?.computed == n, "\(what): \(stage) computed \(counts[stage].map { "\($0.computed)" } ?? "nothing")",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func eachEditComputesOnlyWhatChangedAndWritesTheColdRunsBytes() throws {
        let setup = try Setup()
        let first = try setup.run(cache: "warm")
        let images = try setup.table().count - 1
        for stage in Self.imageStages { #expect(first[stage]?.computed == images && first[stage]?.copied == 0) }

        // A table cell that reaches its record (the view) changes: that record only.
        var rows = try setup.table()
        let view = try setup.column("view")
        rows[2][view] = rows[2][view] == "CC" ? "MLO" : "CC"
        try setup.writeTable(rows)
        let edited = try setup.rerunMatchesCold("cold-view")
        expectComputed(edited, 1, "one view changed")
        #expect(edited["decode"]?.copied == images - 1)

        // A label changes: labels stay in the table, so decode's every record is the earlier run's (its shards
        // are linked, not copied record by record) and nothing downstream runs.
        let cancer = try setup.column("cancer")
        rows[3][cancer] = rows[3][cancer] == "0" ? "1" : "0"
        try setup.writeTable(rows)
        let linkedBefore = try setup.logsSaying("shards linked from the earlier run, 0 written")
        let relabelled = try setup.rerunMatchesCold("cold-label")
        #expect(relabelled["decode"]?.computed == 0 && relabelled["decode"]?.copied == images)
        #expect(try setup.logsSaying("shards linked from the earlier run, 0 written") == linkedBefore + 1, "decode linked every earlier shard")
        for stage in Self.imageStages.dropFirst() { #expect(relabelled[stage] == nil, "\(stage) ran after a label change") }

        // Three new images (files and rows from another cohort).
        let extra = try String(contentsOfFile: "\(setup.extra)/train.csv", encoding: .utf8).split(whereSeparator: \.isNewline)
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        for row in extra[1...3] {
            let to = setup.imagePath(setup.data, row, extra)
            try FileManager.default.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: setup.imagePath(setup.extra, row, extra), toPath: to)
        }
        rows += extra[1...3]
        try setup.writeTable(rows)
        expectComputed(try setup.rerunMatchesCold("cold-added"), 3, "three images added")

        // One image file replaced by another's bytes.
        let victim = setup.imagePath(setup.data, rows[4], rows)
        try FileManager.default.removeItem(atPath: victim)
        try FileManager.default.copyItem(atPath: setup.imagePath(setup.extra, extra[4], extra), toPath: victim)
        // status says so before anything runs: exactly once decode's input is known, else after ingest ran.
        let before = try runProcess(setup.mammoflow, ["status", "p.yaml", "--cache", "\(setup.root)/warm"], cwd: setup.root).output
        #expect(before.contains("up to \(rows.count - 1) records to copy from an earlier run: counted after ingest ran"), "\(before)")
        _ = try runProcess(setup.mammoflow, ["run", "p.yaml", "--until", "ingest", "--cache", "\(setup.root)/warm"], cwd: setup.root)
        let known = try runProcess(setup.mammoflow, ["status", "p.yaml", "--cache", "\(setup.root)/warm"], cwd: setup.root).output
        #expect(known.contains("1 record to compute, \(rows.count - 2) to copy from an earlier run"), "\(known)")
        expectComputed(try setup.rerunMatchesCold("cold-replaced"), 1, "one file replaced")

        // One image deleted (file and row): nothing computed, one record fewer.
        try FileManager.default.removeItem(atPath: setup.imagePath(setup.data, rows[1], rows))
        rows.remove(at: 1)
        try setup.writeTable(rows)
        let deleted = try setup.rerunMatchesCold("cold-deleted")
        expectComputed(deleted, 0, "one image deleted")
        #expect(deleted["decode"]?.copied == rows.count - 1)
    }

    @Test func aDamagedShardLinkedFromAnEarlierRunFailsTheCommit() throws {
        let setup = try Setup()
        _ = try setup.run(cache: "warm")
        let store = Store(root: "\(setup.root)/warm")
        let decode = try #require(store.lastRun(pipeline: "\(setup.root)/p.yaml", stage: "decode")?.first)
        let record = try #require(store.readRun(decode.key))
        let shard = try #require(record.manifest.shards.first)
        let object = store.objectPath(shard.sha256)
        var bytes = try readFile(object)
        bytes[bytes.count / 3] ^= 0x08
        chmod(object, 0o644)
        try Data(bytes).write(to: URL(fileURLWithPath: object))
        // A label changes: decode reruns and links its earlier shards, the damaged one among them, unread.
        var rows = try setup.table()
        let cancer = try setup.column("cancer")
        rows[3][cancer] = rows[3][cancer] == "0" ? "1" : "0"
        try setup.writeTable(rows)
        let failed = try runProcess(setup.mammoflow, ["run", "p.yaml", "--cache", "\(setup.root)/warm"], cwd: setup.root)
        #expect(failed.status != 0)
        #expect(failed.output.contains("\(shard.path) has SHA-256") && failed.output.contains("linked from an earlier run, damaged: run `mammoflow verify`"),
                "\(failed.output.suffix(2000))")
        // Nothing was committed: decode's last run is the one before.
        #expect(store.lastRun(pipeline: "\(setup.root)/p.yaml", stage: "decode")?.first?.key == decode.key)
    }

    @Test func slicedStagesReuseAcrossSlices() throws {
        let setup = try Setup(slices: 2)
        _ = try setup.run(cache: "warm")
        // A new image at the front moves every later record to the other slice.
        var rows = try setup.table()
        let extra = try String(contentsOfFile: "\(setup.extra)/train.csv", encoding: .utf8).split(whereSeparator: \.isNewline)
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let to = setup.imagePath(setup.data, extra[1], extra)
        try FileManager.default.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: setup.imagePath(setup.extra, extra[1], extra), toPath: to)
        rows.append(extra[1])
        try setup.writeTable(rows)
        let counts = try setup.rerunMatchesCold("cold")
        expectComputed(counts, 1, "one image added, sliced")
        #expect(counts["decode"]?.copied == rows.count - 2)
    }
}
