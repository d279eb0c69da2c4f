import Foundation
import SeededRandom
import Testing
@testable import Validation

@Suite struct ScoringTests {
    /// Two patients, three breasts; breast 1_L has a cancer seen in one of its two images.
    static let images = [
        ScoredImage(patient: "1", image: "10", laterality: "L", label: 1, prediction: 0.8, fold: 0, site: "1", machine: "21"),
        ScoredImage(patient: "1", image: "11", laterality: "L", label: 1, prediction: 0.2, fold: 0, site: "1", machine: "21"),
        ScoredImage(patient: "1", image: "12", laterality: "R", label: 0, prediction: 0.1, fold: 0, site: "1", machine: "21"),
        ScoredImage(patient: "2", image: "20", laterality: "L", label: 0, prediction: 0.4, fold: 1, site: "2", machine: "49"),
        ScoredImage(patient: "2", image: "21", laterality: "L", label: 0, prediction: 1.5, fold: 1, site: "2", machine: "49"),
    ]

    @Test func breastLevelAggregatesMeanAndMax() {
        let report = scorePredictions(Self.images, replicates: 0)
        #expect(report.breasts == 3 && report.patients == 2 && report.positiveImages == 2)
        // Mean: breasts 1_L 0.5 (cancer), 1_R 0.1, 2_L 0.95 -> ctp 0.5, cfp 1.05, recall 0.5, precision 0.5/1.55.
        let precisionMean = 0.5 / 1.55
        let expectedMean = 2 * precisionMean * 0.5 / (precisionMean + 0.5)
        #expect(abs(report.levels["breast_mean"]!.probabilisticF1 - expectedMean) < 1e-12)
        // Max: 1_L 0.8, 1_R 0.1, 2_L 1.5 clipped to 1 -> ctp 0.8, cfp 1.1, recall 0.8.
        let precisionMax = 0.8 / 1.9
        #expect(abs(report.levels["breast_max"]!.probabilisticF1 - 2 * precisionMax * 0.8 / (precisionMax + 0.8)) < 1e-12)
        #expect(report.levels["breast_max"]!.units == 3)
        #expect(report.levels["image"]!.units == 5)
        #expect(report.breakdown["site_id"]!.keys.sorted() == ["1", "2"])
    }

    @Test func joinReadsTheDocumentedFormatAndRejectsBadRows() throws {
        let table = try CSVTable(parsing: Array("""
            site_id,patient_id,image_id,laterality,view,cancer,machine_id
            1,5,100,L,CC,1,21
            1,5,101,R,CC,0,21
            2,6,200,L,MLO,0,49
            """.utf8), file: "train.csv")
        let predictions = try CSVTable(parsing: Array("""
            image,prediction,fold
            5/100,0.9,0
            5/101,nan,0
            6/200,0.3,1
            7/700,0.5,1
            6/200,0.4,1
            """.utf8), file: "predictions.csv")
        let (images, rejects) = try ScoringInput.join(predictions: predictions, table: table)
        #expect(images.map(\.key) == ["5/100", "6/200"])
        #expect(images[0] == ScoredImage(patient: "5", image: "100", laterality: "L", label: 1, prediction: 0.9, fold: 0, site: "1", machine: "21"))
        #expect(rejects.map(\.line) == [3, 5, 6])
        #expect(rejects[1].reason == "image not in train.csv")
    }

    @Test func aTableRowWithABadLabelIsRejectedAndCountedNotFatal() throws {
        // Image records carry no labels, so the scoring is where a bad label cell is found (when no folds
        // stage found it first): the row is a reject with its reason, the others are scored.
        let table = try CSVTable(parsing: Array("""
            patient_id,image_id,laterality,cancer
            5,100,L,1
            5,101,R,maybe
            6,200,L,0

            """.utf8), file: "train.csv")
        let predictions = try CSVTable(parsing: Array("image,prediction,fold\n5/100,0.9,0\n6/200,0.3,1\n".utf8), file: "predictions.csv")
        let run = try ScoreRun(predictions: predictions, table: table, replicates: 0, seed: 0)
        #expect(run.tableRejects.map(\.key) == ["5/101"])
        #expect(run.tableRejects.first?.reason == "train.csv line 3: column cancer: \"maybe\" is not 0 or 1")
        #expect(run.report.coverage == Coverage(imagesScored: 2, imagesInTable: 3, imagesRejected: 1))
        #expect(run.report.coverage?.isComplete == true)
        // Rejected by an earlier stage (folds): counted the same, not rejected again.
        let reported = try ScoreRun(predictions: predictions, table: table, replicates: 0, seed: 0, rejectedUpstream: ["5/101"])
        #expect(reported.tableRejects.isEmpty && reported.report.coverage == run.report.coverage)
    }

    @Test func aPartialSetOfPredictionsIsRefusedUnlessAskedAndItsCoverageIsRecorded() throws {
        let table = try CSVTable(parsing: Array("""
            patient_id,image_id,laterality,cancer
            5,100,L,1
            5,101,R,0
            6,200,L,0
            6,201,L,0
            """.utf8), file: "train.csv")
        let predictions = try CSVTable(parsing: Array("""
            image,prediction,fold
            5/100,0.9,0
            5/101,0.2,0
            6/200,0.3,1
            """.utf8), file: "predictions.csv")
        do {
            _ = try ScoreRun(predictions: predictions, table: table, replicates: 0, seed: 0)
            Issue.record("three predictions for four images must not be scored silently")
        } catch let error as CSVError {
            #expect(error.file == "predictions.csv")
            #expect(error.reason.hasPrefix("predictions cover 3 of the 4 images of train.csv; none for 6/201;"), "\(error.reason)")
            #expect(error.reason.contains("--allow-partial"))
        }
        let partial = try ScoreRun(predictions: predictions, table: table, replicates: 0, seed: 0, allowPartial: true)
        #expect(partial.report.coverage == Coverage(imagesScored: 3, imagesInTable: 4))
        #expect(partial.summary.contains("scored 3 of the table's 4 images (a partial set)"))
        let json = try JSONSerialization.jsonObject(with: Data(ScoreFiles.encode(partial.report))) as? [String: Any]
        let coverage = json?["coverage"] as? [String: Int]
        #expect(coverage == ["images_scored": 3, "images_in_table": 4, "images_rejected": 0])
        // An image an earlier stage rejected (and reported) is counted, not held against the set.
        let reported = try ScoreRun(predictions: predictions, table: table, replicates: 0, seed: 0, rejectedUpstream: ["6/201"])
        #expect(reported.report.coverage == Coverage(imagesScored: 3, imagesInTable: 4, imagesRejected: 1))
        #expect(reported.summary.contains("scored 3 of the table's 4 images, 1 rejected\n"))
    }

    @Test func bootstrapIsSeededAndBracketsTheEstimate() {
        // 40 patients, 2 images each, a noisy but informative score.
        var rng = SplitMix64(seed: 9)
        var images: [ScoredImage] = []
        for p in 0..<40 {
            let label = p % 4 == 0 ? 1 : 0
            for i in 0..<2 {
                let score = Double(label) * 0.3 + Double.random(in: 0..<0.7, using: &rng)
                images.append(ScoredImage(patient: "\(p)", image: "\(i)", laterality: i == 0 ? "L" : "R", label: label,
                                          prediction: score, fold: (p / 4) % 2))
            }
        }
        let a = scorePredictions(images, replicates: 200, seed: 5)
        let b = scorePredictions(images, replicates: 200, seed: 5)
        #expect(a == b)
        let image = a.levels["image"]!
        let auc = image.rocAUC!, interval = image.rocAUCInterval!
        #expect(interval.low < auc && auc < interval.high && interval.high <= 1)
        #expect(image.honest != nil && image.honest!.thresholds.count == 2)
    }

    @Test func metricsJSONHeadlineAndHistory() throws {
        let report = scorePredictions(Self.images, replicates: 0)
        let headline = try Headline.values(of: report)
        #expect(headline["pf1_breast_max"]! == report.levels["breast_max"]!.probabilisticF1)
        #expect(headline["auc_image"]! == report.levels["image"]!.rocAUC)
        #expect(try ScoreFiles.encode(report) == ScoreFiles.encode(scorePredictions(Self.images, replicates: 0)))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mammoflow-history-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metrics = "\(directory)/metrics.json"
        #expect(try ScoreFiles.history(of: metrics).isEmpty)
        try ScoreFiles.appendHistory(of: metrics, headline: headline)
        try ScoreFiles.appendHistory(of: metrics, headline: ["pf1_image": 0.5, "auc_image": nil])
        let history = try ScoreFiles.history(of: metrics)
        #expect(history.count == 2)
        #expect(history[0]["pf1_breast_max"]! == headline["pf1_breast_max"]!)
        #expect(history[1]["pf1_image"]! == 0.5 && history[1]["auc_image"]! == nil)
    }
}
