import Shards
import Testing
@testable import Validation

/// Metrics against scikit-learn 1.9.1 and the competition's pfbeta (golden.json, from make_golden.py).
@Suite struct MetricsTests {
    struct Case: CustomTestStringConvertible {
        let json: JSONValue
        var name: String { json["name"]!.stringValue! }
        var labels: [Int] { json["labels"]!.arrayValue!.map { Int($0.intValue!) } }
        var scores: [Double] { json["scores"]!.arrayValue!.map { $0.doubleValue! } }
        var weights: [Double]? { json["weights"]?.arrayValue?.map { $0.doubleValue! } }
        func expected(_ key: String) -> Double? { json[key]?.doubleValue }
        var testDescription: String { name }
    }

    static let cases = Fixtures.golden["metric_cases"]!.arrayValue!.map(Case.init)

    @Test(arguments: cases) func rocAUCMatchesScikitLearn(_ c: Case) {
        let curve = RankedScores(scores: c.scores, labels: c.labels).curve(weights: c.weights)
        let ours = rocAUC(curve)
        if let expected = c.expected("roc_auc") {
            #expect(abs(ours! - expected) < 1e-12)
        } else {
            #expect(ours == nil) // one class only: undefined (scikit-learn warns and returns nan)
        }
    }

    @Test(arguments: cases) func averagePrecisionMatchesScikitLearn(_ c: Case) {
        let curve = RankedScores(scores: c.scores, labels: c.labels).curve(weights: c.weights)
        let ours = averagePrecision(curve)
        if c.labels.contains(1) {
            #expect(abs(ours! - c.expected("average_precision")!) < 1e-12)
        } else {
            // scikit-learn warns and returns 0 without positives; we report it as undefined.
            #expect(c.expected("average_precision") == 0 && ours == nil)
        }
    }

    @Test(arguments: cases) func probabilisticF1MatchesCompetitionCode(_ c: Case) {
        let ours = probabilisticF(labels: c.labels, predictions: c.scores, weights: c.weights)
        // Where the competition's code divides by zero we score 0.
        #expect(abs(ours - (c.expected("pfbeta") ?? 0)) < 1e-12)
    }

    @Test func largeTiedCaseOnTrainLabels() throws {
        let labels = try Fixtures.trainTable.binary("cancer")
        // Same integer hash as make_golden.py's hashed_scores.
        let scores = labels.indices.map { i in Double(Int((UInt64(i) &* 2654435761) % (1 << 32)) % 1000 + 300 * labels[i]) / 1000 }
        let golden = Fixtures.golden["large_case"]!
        let curve = RankedScores(scores: scores, labels: labels).curve()
        #expect(abs(rocAUC(curve)! - golden["roc_auc"]!.doubleValue!) < 1e-12)
        #expect(abs(averagePrecision(curve)! - golden["average_precision"]!.doubleValue!) < 1e-12)
        #expect(abs(probabilisticF(labels: labels, predictions: scores) - golden["pfbeta"]!.doubleValue!) < 1e-12)
    }

    @Test func bestThresholdAndConfusion() throws {
        // Scores 0.9(1) 0.8(0) 0.7(1) 0.2(0) 0.1(1): threshold 0.7 gives TP 2, FP 1, FN 1 -> F1 2/3;
        // 0.1 gives TP 3, FP 2 -> F1 6/8 = 0.75, the best.
        let curve = RankedScores(scores: [0.9, 0.8, 0.7, 0.2, 0.1], labels: [1, 0, 1, 0, 1]).curve()
        let best = try #require(bestF1Threshold(curve))
        #expect(best.threshold == 0.1)
        #expect(best.confusion.f1 == 0.75)
        #expect(best.confusion.sensitivity == 1)
        #expect(best.confusion.specificity == 0)
    }

    @Test func honestThresholdsComeFromTheOtherFolds() {
        // Fold 0 alone would pick 0.9; its honest threshold is the best on fold 1 (0.4), and vice versa.
        let scores = [0.9, 0.5, 0.4, 0.1, 0.4, 0.3, 0.9, 0.2]
        let labels = [1, 0, 0, 0, 1, 0, 0, 0]
        let folds = [0, 0, 0, 0, 1, 1, 1, 1]
        let thresholds = crossFoldThresholds(scores: scores, labels: labels, folds: folds)
        #expect(thresholds == [0: 0.4, 1: 0.9])
    }
}
