import Foundation

/// What to generate. `prevalence` is the chance that a breast has cancer (RSNA: 492 of 23,826 breasts, 2.06%);
/// `difficulty` in 0...1 makes lesions smaller and fainter and benign look-alikes commoner.
public struct CohortParameters: Sendable {
    public var patients: Int
    public var seed: UInt64
    public var scale: Double
    public var prevalence: Double
    public var difficulty: Double

    public static let rsnaPrevalence = 492.0 / 23826.0

    public init(patients: Int = 200, seed: UInt64 = 7, scale: Double = 1, prevalence: Double = rsnaPrevalence, difficulty: Double = 0.5) {
        self.patients = patients
        self.seed = seed
        self.scale = scale
        self.prevalence = prevalence
        self.difficulty = difficulty
    }
}

/// One row of RSNA's train.csv, typed. Labels are per breast, site/age/implant/density/machine per patient.
public struct ImageRecord: Sendable, Equatable {
    public var siteID: Int
    public var patientID: Int
    public var imageID: Int
    public var laterality: String
    public var view: String
    public var age: Int?
    public var cancer: Bool
    public var biopsy: Bool
    public var invasive: Bool
    /// "", "0.0", "1.0" or "2.0", exactly as RSNA writes it.
    public var birads: String
    public var implant: Bool
    /// "", "A", "B", "C" or "D" (RSNA has densities at site 1 only).
    public var density: String
    public var machineID: Int
    public var difficultNegative: Bool

    /// "<patient_id>/<image_id>", the key images and truth records are known by.
    public var key: String { "\(patientID)/\(imageID)" }
    public var relativePath: String { "train_images/\(patientID)/\(imageID).dcm" }
}

/// Sampling patients in the shape of RSNA's table, and writing it as RSNA does.
public enum CohortTable {
    public static let trainColumns = ["site_id", "patient_id", "image_id", "laterality", "view", "age", "cancer", "biopsy",
                                      "invasive", "BIRADS", "implant", "density", "machine_id", "difficult_negative_case"]
    public static let testColumns = ["site_id", "patient_id", "image_id", "laterality", "view", "age", "implant", "machine_id",
                                     "prediction_id"]

    /// The table for `parameters.patients` patients, sorted like RSNA's (patient id, then image id).
    public static func sample(_ parameters: CohortParameters) -> [ImageRecord] {
        var rng = SynthRandom(seed: parameters.seed, 0x7AB1E)
        let sites = RSNAStatistics.sites
        let patientIDs = distinctIntegers(parameters.patients, in: 1...max(65535, parameters.patients * 6), &rng)
        var usedImageIDs = Set<Int>()
        var records: [ImageRecord] = []
        for patientID in patientIDs {
            let site = sites[rng.weightedIndex(sites.map(\.patients))]
            let machineID = site.machines[rng.weightedIndex(site.machines.map(\.1))].0
            let ageIndex = rng.weightedIndex(site.ages.map(\.1) + [site.missingAges])
            let age = ageIndex < site.ages.count ? site.ages[ageIndex].0 : nil
            let density = site.densities[rng.weightedIndex(site.densities.map(\.1))].0
            let implant = rng.chance(Double(site.implantPatients) / Double(site.patients))
            for laterality in ["L", "R"] {
                let cancer = rng.chance(parameters.prevalence)
                let candidates = site.breasts.filter { $0.cancer == (cancer ? 1 : 0) }
                let labels = candidates[rng.weightedIndex(candidates.map(\.count))]
                let views = RSNAStatistics.breastViews[rng.weightedIndex(RSNAStatistics.breastViews.map(\.count))].views
                for view in views {
                    var imageID: Int
                    repeat { imageID = 100_000 + Int(rng.next() % UInt64(2_147_000_000)) } while !usedImageIDs.insert(imageID).inserted
                    records.append(ImageRecord(
                        siteID: site.siteID, patientID: patientID, imageID: imageID, laterality: laterality, view: view,
                        age: age, cancer: cancer, biopsy: labels.biopsy == 1, invasive: labels.invasive == 1,
                        birads: labels.birads, implant: implant, density: density, machineID: machineID,
                        difficultNegative: labels.difficultNegative))
                }
            }
        }
        return records.sorted { ($0.patientID, $0.imageID) < ($1.patientID, $1.imageID) }
    }

    /// `count` distinct integers from `range`, in ascending order.
    static func distinctIntegers(_ count: Int, in range: ClosedRange<Int>, _ rng: inout SynthRandom) -> [Int] {
        var chosen = Set<Int>()
        let width = UInt64(range.count)
        while chosen.count < count { chosen.insert(range.lowerBound + Int(rng.next() % width)) }
        return chosen.sorted()
    }

    /// train.csv exactly in RSNA's formats (CRLF line ends, as Kaggle ships it): ages and BIRADS as `68.0`, empty cells for unknowns, `True`/`False`.
    public static func trainCSV(_ records: [ImageRecord]) -> String {
        var lines = [trainColumns.joined(separator: ",")]
        for r in records {
            let fields = ["\(r.siteID)", "\(r.patientID)", "\(r.imageID)", r.laterality, r.view, r.age.map { "\($0).0" } ?? "",
                          flag(r.cancer), flag(r.biopsy), flag(r.invasive), r.birads, flag(r.implant), r.density,
                          "\(r.machineID)", r.difficultNegative ? "True" : "False"]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// test.csv in RSNA's layout: no labels, and `prediction_id` = `<patient_id>_<laterality>` (one prediction per breast).
    public static func testCSV(_ records: [ImageRecord]) -> String {
        var lines = [testColumns.joined(separator: ",")]
        for r in records {
            let fields = ["\(r.siteID)", "\(r.patientID)", "\(r.imageID)", r.laterality, r.view, r.age.map { "\($0).0" } ?? "",
                          flag(r.implant), "\(r.machineID)", "\(r.patientID)_\(r.laterality)"]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func flag(_ b: Bool) -> String { b ? "1" : "0" }
}

/// One site's counts (generated into RSNAStatistics.swift).
struct SiteStatistics {
    let siteID: Int
    let patients: Int
    let implantPatients: Int
    let machines: [(Int, Int)]
    let missingAges: Int
    let ages: [(Int, Int)]
    let densities: [(String, Int)]
    let breasts: [BreastLabelCount]
}

/// How many breasts at a site had this combination of labels.
struct BreastLabelCount {
    let cancer: Int
    let biopsy: Int
    let invasive: Int
    let birads: String
    let difficultNegative: Bool
    let count: Int
}
