/// Classification metrics with scikit-learn's and the RSNA competition's definitions. Every metric takes
/// optional per-sample weights: a bootstrap replicate is the same samples weighted by how often their
/// patient was drawn, so a replicate costs one linear scan instead of a resample and a sort.

/// The RSNA competition's probabilistic F-beta (Kaggle's `pfbeta`): predictions clipped to 0...1 count as
/// fractional true and false positives. Where the competition's code divides by zero (no positive label,
/// or every prediction 0) this returns 0: there is no true-positive mass to score.
public func probabilisticF(labels: [Int], predictions: [Double], weights: [Double]? = nil, beta: Double = 1) -> Double {
    var positives = 0.0, truePositive = 0.0, falsePositive = 0.0
    for i in labels.indices {
        let w = weights?[i] ?? 1
        let p = min(max(predictions[i], 0), 1)
        if labels[i] > 0 {
            positives += w
            truePositive += w * p
        } else {
            falsePositive += w * p
        }
    }
    guard positives > 0, truePositive + falsePositive > 0 else { return 0 }
    let precision = truePositive / (truePositive + falsePositive)
    let recall = truePositive / positives
    guard precision > 0, recall > 0 else { return 0 }
    let b2 = beta * beta
    return (1 + b2) * (precision * recall) / (b2 * precision + recall)
}

/// Samples sorted once by decreasing score, with the runs of equal scores marked: the shared first step
/// of ROC, precision-recall and threshold search (scikit-learn's `_binary_clf_curve`).
public struct RankedScores: Sendable {
    public let labels: [Int]
    public let scores: [Double]
    /// Sample indices by decreasing score (ties in input order).
    public let order: [Int]
    /// runEnds[r]: the position in `order` one past the last sample of the r-th run of equal scores.
    public let runEnds: [Int]

    public init(scores: [Double], labels: [Int]) {
        precondition(scores.count == labels.count, "one label per score")
        self.scores = scores
        self.labels = labels
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var ends: [Int] = []
        for p in order.indices where p + 1 == order.count || scores[order[p + 1]] != scores[order[p]] { ends.append(p + 1) }
        self.order = order
        self.runEnds = ends
    }

    /// One point per distinct score (runs whose weights are all zero are dropped, as scikit-learn drops
    /// zero-weight samples): cumulative positive and negative weight at or above the threshold.
    public func curve(weights: [Double]? = nil) -> [CurvePoint] {
        var points: [CurvePoint] = []
        points.reserveCapacity(runEnds.count)
        var tp = 0.0, fp = 0.0, start = 0
        for end in runEnds {
            var runWeight = 0.0
            for p in start..<end {
                let i = order[p]
                let w = weights?[i] ?? 1
                runWeight += w
                if labels[i] > 0 { tp += w } else { fp += w }
            }
            if runWeight > 0 { points.append(CurvePoint(threshold: scores[order[start]], truePositives: tp, falsePositives: fp)) }
            start = end
        }
        return points
    }
}

public struct CurvePoint: Sendable, Equatable {
    /// Samples with score >= threshold are called positive.
    public var threshold: Double
    public var truePositives: Double
    public var falsePositives: Double
}

/// ROC AUC as scikit-learn's roc_auc_score: the trapezoid under the ROC curve through one point per distinct
/// score (so tied scores count half), starting at (0, 0). Nil when only one class is present.
public func rocAUC(_ curve: [CurvePoint]) -> Double? {
    guard let last = curve.last, last.truePositives > 0, last.falsePositives > 0 else { return nil }
    var area = 0.0, previousFPR = 0.0, previousTPR = 0.0
    for point in curve {
        let fpr = point.falsePositives / last.falsePositives, tpr = point.truePositives / last.truePositives
        area += (fpr - previousFPR) * (tpr + previousTPR) / 2
        previousFPR = fpr
        previousTPR = tpr
    }
    return area
}

/// PR AUC as scikit-learn's average_precision_score (not the trapezoid): sum over distinct thresholds of
/// (recall gained) x precision there. Nil without positives.
public func averagePrecision(_ curve: [CurvePoint]) -> Double? {
    guard let last = curve.last, last.truePositives > 0 else { return nil }
    var sum = 0.0, previousRecall = 0.0
    for point in curve {
        let recall = point.truePositives / last.truePositives
        let precision = point.truePositives / (point.truePositives + point.falsePositives)
        sum += (recall - previousRecall) * precision
        previousRecall = recall
    }
    return sum
}

/// Counts of a binary decision (score >= threshold), and the rates reported from them.
public struct Confusion: Codable, Equatable, Sendable {
    public var truePositives: Double
    public var falsePositives: Double
    public var falseNegatives: Double
    public var trueNegatives: Double

    public init(truePositives: Double, falsePositives: Double, falseNegatives: Double, trueNegatives: Double) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    /// Decisions `called[i]` against `labels[i]`, weighted.
    public init(called: [Bool], labels: [Int], weights: [Double]? = nil) {
        var tp = 0.0, fp = 0.0, fn = 0.0, tn = 0.0
        for i in labels.indices {
            let w = weights?[i] ?? 1
            switch (called[i], labels[i] > 0) {
            case (true, true): tp += w
            case (true, false): fp += w
            case (false, true): fn += w
            case (false, false): tn += w
            }
        }
        self.init(truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn)
    }

    /// F1 = 2TP / (2TP + FP + FN); 0 when there is nothing positive on either side.
    public var f1: Double {
        let d = 2 * truePositives + falsePositives + falseNegatives
        return d > 0 ? 2 * truePositives / d : 0
    }
    public var sensitivity: Double? { ratio(truePositives, truePositives + falseNegatives) }
    public var specificity: Double? { ratio(trueNegatives, trueNegatives + falsePositives) }
    public var precision: Double? { ratio(truePositives, truePositives + falsePositives) }

    private func ratio(_ a: Double, _ b: Double) -> Double? { b > 0 ? a / b : nil }
}

/// The threshold with the highest binarised F1 on these predictions (ties: the higher threshold), and its
/// confusion. Choosing it on the predictions it is scored on is optimistic; see `crossFoldThresholds`.
public func bestF1Threshold(_ curve: [CurvePoint]) -> (threshold: Double, confusion: Confusion)? {
    guard let last = curve.last else { return nil }
    let positives = last.truePositives, negatives = last.falsePositives
    var best: (threshold: Double, confusion: Confusion)?
    for point in curve {
        let c = Confusion(truePositives: point.truePositives, falsePositives: point.falsePositives,
                          falseNegatives: positives - point.truePositives, trueNegatives: negatives - point.falsePositives)
        if best == nil || c.f1 > best!.confusion.f1 { best = (point.threshold, c) }
    }
    return best
}

/// The honest threshold for each fold: the best-F1 threshold on the predictions of all other folds.
/// folds[i] is sample i's fold; returns fold -> threshold (folds whose complement has no positive are absent).
public func crossFoldThresholds(scores: [Double], labels: [Int], folds: [Int]) -> [Int: Double] {
    var thresholds: [Int: Double] = [:]
    for f in Set(folds).sorted() {
        let others = folds.indices.filter { folds[$0] != f }
        let ranked = RankedScores(scores: others.map { scores[$0] }, labels: others.map { labels[$0] })
        if let best = bestF1Threshold(ranked.curve()), best.confusion.truePositives > 0 { thresholds[f] = best.threshold }
    }
    return thresholds
}

/// numpy's percentile with linear interpolation, of sorted values.
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard sorted.count > 1 else { return sorted.first ?? .nan }
    let position = q / 100 * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
}
