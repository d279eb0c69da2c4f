import SeededRandom

/// Scoring of out-of-fold predictions against the cohort table: the competition's probabilistic F1 per
/// breast, image-level metrics, optimistic and honest binarised F1, patient-bootstrap intervals and a
/// breakdown by site and machine. Pure logic: `ScoringInput` joins already-read tables, `scorePredictions`
/// returns the report that `mammoflow score` writes as metrics.json.

/// One predicted image, joined with its labels.
public struct ScoredImage: Sendable, Equatable {
    public var patient: String
    public var image: String
    public var laterality: String
    public var label: Int
    public var prediction: Double
    public var fold: Int?
    public var site: String?
    public var machine: String?

    public init(patient: String, image: String, laterality: String, label: Int, prediction: Double,
                fold: Int? = nil, site: String? = nil, machine: String? = nil) {
        self.patient = patient
        self.image = image
        self.laterality = laterality
        self.label = label
        self.prediction = prediction
        self.fold = fold
        self.site = site
        self.machine = machine
    }

    /// The competition's prediction_id: one per breast.
    public var predictionID: String { "\(patient)_\(laterality)" }
    /// The image key used by every mammoflow table: "<patient_id>/<image_id>".
    public var key: String { "\(patient)/\(image)" }
}

/// A prediction row that could not be used, and why (the score stage records these as rejects).
public struct RowReject: Sendable, Equatable {
    public var key: String
    public var line: Int
    public var reason: String
}

/// The predictions CSV format: one row per image with either `image` ("<patient_id>/<image_id>") or both
/// `patient_id` and `image_id`; `prediction` (a probability; values outside 0...1 are clipped when scored,
/// as the competition did); optionally `fold`, the fold the image was held out in. Other columns are ignored.
public enum ScoringInput {
    /// The image keys of a table that has `image` or `patient_id` + `image_id` columns.
    public static func keys(of table: CSVTable) throws -> [String] {
        if table.has("image") { return try table.strings("image") }
        let patients = try table.strings("patient_id"), images = try table.strings("image_id")
        return zip(patients, images).map { "\($0)/\($1)" }
    }

    /// Joins predictions with the cohort table (train.csv layout: patient_id, image_id, laterality, cancer,
    /// and site_id, machine_id when present) and optionally a folds table (image, fold). Rows whose image is
    /// not in the table, duplicated, or whose prediction is not a finite number become rejects.
    public static func join(predictions: CSVTable, table: CSVTable, folds: CSVTable? = nil) throws -> (images: [ScoredImage], rejects: [RowReject]) {
        let tableKeys = try keys(of: table)
        let laterality = try table.strings("laterality"), labels = try table.binary("cancer")
        let patients = try table.strings("patient_id"), imageIDs = try table.strings("image_id")
        let sites = table.has("site_id") ? try table.strings("site_id") : nil
        let machines = table.has("machine_id") ? try table.strings("machine_id") : nil
        var rowOf: [String: Int] = [:]
        for (r, key) in tableKeys.enumerated() where rowOf.updateValue(r, forKey: key) != nil {
            throw CSVError(file: table.file, line: table.lines[r], reason: "image \(key) appears twice")
        }
        var foldOf: [String: Int] = [:]
        if let folds {
            for (key, fold) in zip(try keys(of: folds), try folds.ints("fold")) { foldOf[key] = fold }
        }

        let predictionKeys = try keys(of: predictions)
        let values = try predictions.strings("prediction")
        let predictedFolds = predictions.has("fold") ? try predictions.ints("fold") : nil
        var images: [ScoredImage] = []
        var rejects: [RowReject] = []
        var seen = Set<String>()
        for (r, key) in predictionKeys.enumerated() {
            let line = predictions.lines[r]
            guard let row = rowOf[key] else {
                rejects.append(RowReject(key: key, line: line, reason: "image not in \(table.file)")); continue
            }
            guard let p = Double(values[r].trimmingCharacters(in: .whitespaces)), p.isFinite else {
                rejects.append(RowReject(key: key, line: line, reason: "prediction \"\(values[r])\" is not a finite number")); continue
            }
            guard seen.insert(key).inserted else {
                rejects.append(RowReject(key: key, line: line, reason: "a second prediction for this image")); continue
            }
            images.append(ScoredImage(patient: patients[row], image: imageIDs[row], laterality: laterality[row],
                                      label: labels[row], prediction: p, fold: predictedFolds?[r] ?? foldOf[key],
                                      site: sites?[row], machine: machines?[row]))
        }
        return (images, rejects)
    }
}

public struct Interval: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double
}

/// A binarised decision's scores.
public struct ThresholdScores: Codable, Equatable, Sendable {
    /// How the threshold was chosen.
    public var selection: String
    /// One threshold, or one per fold (keyed by fold) for the honest choice.
    public var thresholds: [String: Double]
    public var f1: Double
    public var sensitivity: Double?
    public var specificity: Double?
    public var precision: Double?
    public var f1Interval: Interval?
    public var sensitivityInterval: Interval?
    public var specificityInterval: Interval?
}

/// The scores of one unit of analysis (images, or breasts with predictions aggregated by mean or max).
public struct LevelScores: Codable, Equatable, Sendable {
    public var units: Int
    public var positives: Int
    public var probabilisticF1: Double
    public var probabilisticF1Interval: Interval?
    public var rocAUC: Double?
    public var rocAUCInterval: Interval?
    /// PR AUC as average precision (scikit-learn's average_precision_score), not the trapezoid.
    public var averagePrecision: Double?
    public var averagePrecisionInterval: Interval?
    public var optimistic: ThresholdScores?
    public var honest: ThresholdScores?
}

public struct ScoreReport: Codable, Equatable, Sendable {
    public var images: Int
    public var patients: Int
    public var breasts: Int
    public var positiveImages: Int
    /// "image", "breast_mean", "breast_max".
    public var levels: [String: LevelScores]
    /// Image-level scores per value of "site_id" and "machine_id".
    public var breakdown: [String: [String: LevelScores]]
    public var bootstrap: BootstrapSettings
    public var notes: [String]
    /// How many of the cohort table's images were scored (set by `ScoreRun`): two reports that covered
    /// different images are not comparable.
    public var coverage: Coverage?
}

public struct Coverage: Codable, Equatable, Sendable {
    public var imagesScored: Int
    public var imagesInTable: Int
    /// Images without a prediction that were rejected and reported: by an earlier stage, or (a table row
    /// with a bad cell) by the scoring itself.
    public var imagesRejected: Int
    public init(imagesScored: Int, imagesInTable: Int, imagesRejected: Int = 0) {
        self.imagesScored = imagesScored
        self.imagesInTable = imagesInTable
        self.imagesRejected = imagesRejected
    }
    /// Every image of the table scored, or rejected on the way with a reason.
    public var isComplete: Bool { imagesScored + imagesRejected == imagesInTable }
}

public struct BootstrapSettings: Codable, Equatable, Sendable {
    public var replicates: Int
    public var seed: UInt64
    public var resampling: String
    public var confidence: Double
}

/// Units of analysis: images, or breasts whose prediction is the mean or the max of their images'.
public enum Aggregation: String, CaseIterable, Sendable {
    case image, breastMean = "breast_mean", breastMax = "breast_max"
}

/// Samples at one level, with the patient each belongs to (the bootstrap's resampling unit).
struct Units {
    var labels: [Int] = []
    var scores: [Double] = []
    var folds: [Int?] = []
    var patients: [Int] = []

    /// Patient id -> 0..<patients, in order of first appearance.
    static func patientIndex(of images: [ScoredImage]) -> [String: Int] {
        var index: [String: Int] = [:]
        for image in images where index[image.patient] == nil { index[image.patient] = index.count }
        return index
    }

    init(_ images: [ScoredImage], patientIndex: [String: Int], aggregation: Aggregation) {
        if aggregation == .image {
            labels = images.map(\.label)
            scores = images.map(\.prediction)
            folds = images.map(\.fold)
            patients = images.map { patientIndex[$0.patient]! }
            return
        }
        var order: [String] = []
        var members: [String: [Int]] = [:]
        for (i, image) in images.enumerated() {
            if members[image.predictionID] == nil { order.append(image.predictionID) }
            members[image.predictionID, default: []].append(i)
        }
        for id in order {
            let m = members[id]!
            let predictions = m.map { images[$0].prediction }
            labels.append(m.map { images[$0].label }.max()!)
            scores.append(aggregation == .breastMax ? predictions.max()! : predictions.reduce(0, +) / Double(predictions.count))
            folds.append(images[m[0]].fold)
            patients.append(patientIndex[images[m[0]].patient]!)
        }
    }
}

/// Scores predictions. `replicates` bootstrap draws of patients (with replacement, seeded) give the
/// intervals; the honest threshold needs every image's fold.
public func scorePredictions(_ images: [ScoredImage], replicates: Int = 1000, seed: UInt64 = 0,
                             confidence: Double = 0.95) -> ScoreReport {
    let patientIndex = Units.patientIndex(of: images)
    var notes: [String] = [
        "probabilistic_f1 is the RSNA competition's pF1 (predictions clipped to 0..1); at breast level one prediction per patient_laterality.",
        "optimistic: threshold chosen on the very predictions it is scored on (as the study reported); honest: each fold's threshold chosen on the other folds.",
        "average_precision is scikit-learn's average_precision_score (step-wise PR AUC, not the trapezoid).",
        "intervals: \(Int(confidence * 100))% percentile bootstrap over patients.",
    ]
    if images.contains(where: { $0.fold == nil }) { notes.append("some images have no fold: no honest threshold.") }

    var levels: [String: LevelScores] = [:]
    for aggregation in Aggregation.allCases {
        let units = Units(images, patientIndex: patientIndex, aggregation: aggregation)
        levels[aggregation.rawValue] = scoreLevel(units, patients: patientIndex.count, replicates: replicates,
                                                  seed: seed, confidence: confidence)
    }
    // Subgroups are scored at the whole cohort's honest thresholds: what a site would see from the model.
    let thresholds = levels[Aggregation.image.rawValue]?.honest.map { honest in
        Dictionary(uniqueKeysWithValues: honest.thresholds.map { (Int($0)!, $1) })
    }
    var breakdown: [String: [String: LevelScores]] = [:]
    for (name, attribute) in [("site_id", \ScoredImage.site), ("machine_id", \ScoredImage.machine)] {
        var groups: [String: [ScoredImage]] = [:]
        for image in images { if let value = image[keyPath: attribute] { groups[value, default: []].append(image) } }
        guard !groups.isEmpty else { continue }
        breakdown[name] = groups.mapValues { subset in
            let index = Units.patientIndex(of: subset)
            return scoreLevel(Units(subset, patientIndex: index, aggregation: .image), patients: index.count,
                              replicates: replicates, seed: seed, confidence: confidence, fixedThresholds: thresholds)
        }
    }
    return ScoreReport(images: images.count, patients: patientIndex.count,
                       breasts: Set(images.map(\.predictionID)).count,
                       positiveImages: images.filter { $0.label > 0 }.count, levels: levels, breakdown: breakdown,
                       bootstrap: BootstrapSettings(replicates: replicates, seed: seed, resampling: "patients", confidence: confidence),
                       notes: notes)
}

/// Scores one level. With `fixedThresholds` (fold -> threshold, for subgroups) the honest decisions use
/// them instead of choosing anew, and no optimistic threshold is searched.
func scoreLevel(_ units: Units, patients: Int, replicates: Int, seed: UInt64, confidence: Double,
                fixedThresholds: [Int: Double]? = nil) -> LevelScores {
    let ranked = RankedScores(scores: units.scores, labels: units.labels)
    let curve = ranked.curve()
    var level = LevelScores(units: units.labels.count, positives: units.labels.filter { $0 > 0 }.count,
                            probabilisticF1: probabilisticF(labels: units.labels, predictions: units.scores),
                            rocAUC: rocAUC(curve), averagePrecision: averagePrecision(curve))
    if fixedThresholds == nil, let best = bestF1Threshold(curve) {
        level.optimistic = ThresholdScores(selection: "optimistic: best F1 on the scored predictions themselves",
                                           thresholds: ["all": best.threshold], f1: best.confusion.f1,
                                           sensitivity: best.confusion.sensitivity, specificity: best.confusion.specificity,
                                           precision: best.confusion.precision)
    }
    // Honest decisions: each unit against the threshold chosen without its fold.
    var called: [Bool]?
    let folds = units.folds.compactMap { $0 }
    if folds.count == units.folds.count, Set(folds).count > 1 || fixedThresholds != nil {
        let thresholds = fixedThresholds ?? crossFoldThresholds(scores: units.scores, labels: units.labels, folds: folds)
        if Set(folds).isSubset(of: thresholds.keys) {
            let decisions = units.scores.indices.map { units.scores[$0] >= thresholds[folds[$0]]! }
            let c = Confusion(called: decisions, labels: units.labels)
            called = decisions
            let selection = fixedThresholds == nil ? "honest: best F1 on the other folds' predictions"
                : "honest: the whole cohort's per-fold thresholds"
            level.honest = ThresholdScores(selection: selection,
                                           thresholds: Dictionary(uniqueKeysWithValues: thresholds.map { (String($0), $1) }),
                                           f1: c.f1, sensitivity: c.sensitivity, specificity: c.specificity, precision: c.precision)
        }
    }
    guard replicates > 0 else { return level }

    var rng = SplitMix64(seed: seed)
    var draws: [String: [Double]] = [:]
    var multiplicity = [Double](repeating: 0, count: patients)
    var weights = [Double](repeating: 0, count: units.labels.count)
    for _ in 0..<replicates {
        for p in multiplicity.indices { multiplicity[p] = 0 }
        for _ in 0..<patients { multiplicity[Int.random(in: 0..<patients, using: &rng)] += 1 }
        for u in weights.indices { weights[u] = multiplicity[units.patients[u]] }
        let replicateCurve = ranked.curve(weights: weights)
        guard let last = replicateCurve.last, last.truePositives > 0 else { continue }
        draws["pf1", default: []].append(probabilisticF(labels: units.labels, predictions: units.scores, weights: weights))
        if let auc = rocAUC(replicateCurve) { draws["auc", default: []].append(auc) }
        if let ap = averagePrecision(replicateCurve) { draws["ap", default: []].append(ap) }
        if let called {
            let c = Confusion(called: called, labels: units.labels, weights: weights)
            draws["f1", default: []].append(c.f1)
            if let s = c.sensitivity { draws["sens", default: []].append(s) }
            if let s = c.specificity { draws["spec", default: []].append(s) }
        }
    }
    let tail = (1 - confidence) / 2 * 100
    func interval(_ name: String) -> Interval? {
        guard let values = draws[name], !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return Interval(low: percentile(sorted, tail), high: percentile(sorted, 100 - tail))
    }
    level.probabilisticF1Interval = interval("pf1")
    level.rocAUCInterval = interval("auc")
    level.averagePrecisionInterval = interval("ap")
    level.honest?.f1Interval = interval("f1")
    level.honest?.sensitivityInterval = interval("sens")
    level.honest?.specificityInterval = interval("spec")
    return level
}
