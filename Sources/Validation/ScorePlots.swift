import Foundation
import Imaging

/// The score's pictures: ROC and precision-recall curves at the three levels, and a calibration
/// (reliability) plot. Written as roc.png, pr.png and calibration.png beside metrics.json.
public enum ScorePlots {
    static let colors: [Aggregation: RGB] = [.image: RGB(50, 100, 230), .breastMean: RGB(230, 90, 30), .breastMax: RGB(40, 160, 70)]

    static func levels(_ images: [ScoredImage]) -> [(Aggregation, Units)] {
        let patientIndex = Units.patientIndex(of: images)
        return Aggregation.allCases.map { ($0, Units(images, patientIndex: patientIndex, aggregation: $0)) }
    }

    public static func roc(_ images: [ScoredImage], _ report: ScoreReport) -> Chart {
        var chart = Chart(title: "ROC  (squares: honest thresholds)", xLabel: "false positive rate (1 - specificity)", yLabel: "true positive rate (sensitivity)")
        chart.legendAtBottom = true
        chart.series.append(Chart.Series(name: "", color: Chart.muted, points: [(0, 0), (1, 1)], dashed: true))
        for (aggregation, units) in levels(images) {
            let curve = RankedScores(scores: units.scores, labels: units.labels).curve()
            guard let last = curve.last, last.truePositives > 0, last.falsePositives > 0 else { continue }
            let points = [(x: 0.0, y: 0.0)] + curve.map { ($0.falsePositives / last.falsePositives, $0.truePositives / last.truePositives) }
            let auc = report.levels[aggregation.rawValue]?.rocAUC.map { String(format: "%.3f", $0) } ?? "-"
            chart.series.append(Chart.Series(name: "\(aggregation.rawValue)  AUC \(auc)", color: colors[aggregation]!, points: points))
            if let honest = report.levels[aggregation.rawValue]?.honest, let sens = honest.sensitivity, let spec = honest.specificity {
                chart.series.append(Chart.Series(name: "", color: colors[aggregation]!, points: [(1 - spec, sens)], markers: true))
            }
        }
        return chart
    }

    public static func precisionRecall(_ images: [ScoredImage], _ report: ScoreReport) -> Chart {
        var chart = Chart(title: "Precision-recall", xLabel: "recall (sensitivity)", yLabel: "precision")
        for (aggregation, units) in levels(images) {
            let curve = RankedScores(scores: units.scores, labels: units.labels).curve()
            guard let last = curve.last, last.truePositives > 0 else { continue }
            let points = [(x: 0.0, y: 1.0)] + curve.map { ($0.truePositives / last.truePositives, $0.truePositives / ($0.truePositives + $0.falsePositives)) }
            let ap = report.levels[aggregation.rawValue]?.averagePrecision.map { String(format: "%.3f", $0) } ?? "-"
            chart.series.append(Chart.Series(name: "\(aggregation.rawValue)  AP \(ap)", color: colors[aggregation]!, points: points))
            let prevalence = last.truePositives / (last.truePositives + last.falsePositives)
            chart.series.append(Chart.Series(name: "", color: colors[aggregation]!, points: [(0, prevalence), (1, prevalence)], dashed: true))
        }
        return chart
    }

    /// Reliability: units sorted by prediction and cut into `bins` of equal count; each bin's mean
    /// (clipped) prediction against its observed cancer rate. Equal-count bins, because with ~2% cancer
    /// nearly every prediction falls in the lowest of ten equal-width bins.
    public static func calibration(_ images: [ScoredImage], bins: Int = 10) -> Chart {
        var chart = Chart(title: "Calibration", xLabel: "mean predicted probability (deciles of predictions)", yLabel: "observed cancer rate")
        var top = 0.0
        for (aggregation, units) in levels(images) where aggregation != .breastMax {
            let order = units.scores.indices.sorted { units.scores[$0] < units.scores[$1] }
            var points: [(x: Double, y: Double)] = []
            for b in 0..<min(bins, order.count) {
                let members = order[b * order.count / bins..<(b + 1) * order.count / bins]
                guard !members.isEmpty else { continue }
                let predicted = members.reduce(0.0) { $0 + min(max(units.scores[$1], 0), 1) } / Double(members.count)
                let observed = Double(members.reduce(0) { $0 + (units.labels[$1] > 0 ? 1 : 0) }) / Double(members.count)
                points.append((predicted, observed))
                top = max(top, predicted, observed)
            }
            chart.series.append(Chart.Series(name: aggregation.rawValue, color: colors[aggregation]!, points: points, markers: true))
        }
        let limit = min(1, max(0.05, (top * 20).rounded(.up) / 20))
        chart.xRange = 0...limit
        chart.yRange = 0...limit
        chart.series.insert(Chart.Series(name: "perfect calibration", color: Chart.muted, points: [(0, 0), (limit, limit)], dashed: true), at: 0)
        return chart
    }

    /// roc.png, pr.png and calibration.png in `directory`.
    public static func write(_ images: [ScoredImage], _ report: ScoreReport, to directory: String) throws {
        try PNG.write(roc(images, report).render(), to: "\(directory)/roc.png")
        try PNG.write(precisionRecall(images, report).render(), to: "\(directory)/pr.png")
        try PNG.write(calibration(images).render(), to: "\(directory)/calibration.png")
    }
}
