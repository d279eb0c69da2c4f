import Foundation
import Pipeline
import Shards
import StageTesting
import Testing

/// Labels apart from pixels, with the real stage executables on a dataset outside the cache (ingest): a
/// label fixed in train.csv reruns the stages that join labels and leaves the image stages' artifacts as
/// they were; a cell that describes an image (laterality) reruns the image stages.
@Suite(.serialized) struct LabelTests {
    static let pipeline = """
        stages:
          ingest:    { run: mammoflow-ingest, params: { path: "" } }
          decode:    { run: mammoflow-decode, deps: [ingest], params: { reduce: 0 } }
          downscale: { run: mammoflow-downscale, deps: [decode], params: { factor: 2 } }
          crop:      { run: mammoflow-crop, deps: [downscale] }
          pectoral:  { run: mammoflow-pectoral, deps: [crop] }
          folds:     { run: mammoflow-folds, deps: [ingest], params: { k: 2, seed: 1 } }
          train:     { run: mammoflow-train, deps: [pectoral, folds, ingest], foreach: { fold: [0, 1] },
                       params: { backbone: tiny, height: 48, width: 32, epochs: 1, batch: 8 } }
          predict:   { run: mammoflow-predict, deps: [train, pectoral, folds, ingest] }
          score:     { run: mammoflow-score, deps: [predict, ingest, folds], params: { bootstrap: 10 } }
        """

    /// A synthetic dataset in RSNA's layout beside the pipeline, and what the runs over it committed.
    struct Cohort {
        let chain: EndToEndTests.Chain
        var data: String { "\(chain.root)/data" }

        init() throws {
            chain = try EndToEndTests.Chain("labels", pipeline: LabelTests.pipeline)
            let synth = try runProcess(chain.mammoflow, ["synth", "--out", "\(chain.root)/data", "--patients", "8", "--seed", "5",
                                                    "--scale", "0.06", "--prevalence", "0.5", "--difficulty", "0"])
            try #require(synth.status == 0, "\(synth.output)")
        }

        func run() throws -> String {
            let result = try chain.run(["run", "chain.yaml", "-j", "2", "--set", "ingest.path=\(data)"])
            try #require(result.status == 0, "run failed:\n\(result.output.suffix(3000))")
            return result.output
        }

        /// The newest run of a stage (by when its run record was written).
        func newest(_ stage: String) throws -> RunRecord {
            func written(_ record: RunRecord) -> Date {
                let attributes = try? FileManager.default.attributesOfItem(atPath: "\(chain.root)/cache/runs/\(record.key).json")
                return attributes?[.modificationDate] as? Date ?? .distantPast
            }
            return try #require(try chain.artifact(stage).max { written($0) < written($1) }, "\(stage) never ran")
        }

        /// The metadata of each record of an image stage's artifact, by key.
        func metadata(_ record: RunRecord) throws -> [String: JSONValue] {
            var out: [String: JSONValue] = [:]
            for file in record.manifest.shards {
                let reader = try ShardReader(path: Store(root: "\(chain.root)/cache").objectPath(file.sha256))
                for (i, m) in try reader.metadata().enumerated() { out[reader.entries[i].key] = m }
            }
            return out
        }

        /// Switches image `key`'s cell in `column` of train.csv between `a` and `b` (RSNA's CR LF line ends, as
        /// synth writes them); returns the new value.
        func flip(_ column: String, of key: String, between a: String, and b: String) throws -> String {
            var lines = try String(contentsOfFile: "\(data)/train.csv", encoding: .utf8).split(separator: "\r\n")
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let c = lines[0].firstIndex(of: column)!, p = lines[0].firstIndex(of: "patient_id")!, i = lines[0].firstIndex(of: "image_id")!
            let r = try #require(lines.firstIndex { "\($0[p])/\($0[i])" == key })
            lines[r][c] = lines[r][c] == a ? b : a
            try write("\(data)/train.csv", lines.map { $0.joined(separator: ",") }.joined(separator: "\r\n") + "\r\n")
            return lines[r][c]
        }
    }

    @Test func aLabelFixRerunsOnlyTheStagesThatJoinLabelsAndLateralityRerunsTheImageStages() throws {
        let cohort = try Cohort()
        _ = try cohort.run()
        let imageStages = ["decode", "downscale", "crop", "pectoral"]
        let before = try Dictionary(uniqueKeysWithValues: imageStages.map { ($0, try cohort.newest($0)) })
        // An image record holds the cells that describe its image, and no label or clinical cell.
        let (key, record) = try #require(try cohort.metadata(before["decode"]!).min { $0.key < $1.key })
        #expect(Set(record.objectValue?.keys.filter { ["patient_id", "image_id", "laterality", "view", "cancer", "age", "site_id", "BIRADS"].contains($0) } ?? [])
                == ["patient_id", "image_id", "laterality", "view"], "\(record)")
        let positivesBefore = try #require(try JSONValue.parse(cohort.chain.file(cohort.newest("score"), "metrics.json"))["positive_images"]?.intValue)

        // Fix one label: image `key` becomes a cancer (or stops being one).
        let label = try cohort.flip("cancer", of: key, between: "0", and: "1")
        let relabelled = try cohort.run()
        // ingest and decode run again (decode's input listed another train.csv), folds, train, predict and
        // score see the new label; decode wrote the same artifact, so downscale, crop and pectoral are fresh.
        #expect(relabelled.contains("ran 6, fresh 3, failed 0"), "\(relabelled.suffix(1000))")
        let decodeRuns = try cohort.chain.artifact("decode")
        #expect(decodeRuns.count == 2 && Set(decodeRuns.map(\.manifest.contentID)) == [before["decode"]!.manifest.contentID],
                "decode's artifact after the label fix is the one before it")
        for stage in imageStages.dropFirst() {
            #expect(try cohort.chain.artifact(stage).map(\.key) == [before[stage]!.key], "\(stage) did not run again")
        }
        #expect(try cohort.chain.artifact("train").count == 4 && cohort.chain.artifact("predict").count == 2)
        let metrics = try JSONValue.parse(cohort.chain.file(cohort.newest("score"), "metrics.json"))
        #expect(metrics["positive_images"]?.intValue == positivesBefore + (label == "1" ? 1 : -1))
        #expect(try cohort.chain.file(cohort.newest("predict"), "predictions.csv").contains("\n\(key),"), "the relabelled image is predicted")

        // A cell that describes the image: every stage runs again and the records carry the new laterality.
        let laterality = try cohort.flip("laterality", of: key, between: "L", and: "R")
        let flipped = try cohort.run()
        #expect(flipped.contains("ran 9, fresh 0, failed 0"), "\(flipped.suffix(1000))")
        for stage in imageStages {
            let newest = try cohort.newest(stage)
            #expect(newest.manifest.contentID != before[stage]!.manifest.contentID, "\(stage) wrote a new artifact")
            #expect(try cohort.metadata(newest)[key]?["laterality"]?.stringValue == laterality, "\(stage)")
        }
    }
}
