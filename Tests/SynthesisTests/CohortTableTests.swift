import Foundation
import Testing
@testable import Synthesis

/// Repository paths for fixtures and helper scripts.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static func fixture(_ path: String) -> String { "\(root)/Tests/Fixtures/\(path)" }
}

struct CohortTableTests {
    /// Cell formats of train.csv, checked on RSNA's real rows (Tests/Fixtures/rsna/train-head.csv) and on ours.
    static let validators: [Int: (Substring) -> Bool] = [
        0: { $0 == "1" || $0 == "2" },
        3: { $0 == "L" || $0 == "R" },
        4: { ["CC", "MLO", "AT", "LM", "ML", "LMO"].contains(String($0)) },
        5: { $0.isEmpty || ($0.hasSuffix(".0") && Int($0.dropLast(2)) != nil) },
        6: { $0 == "0" || $0 == "1" }, 7: { $0 == "0" || $0 == "1" }, 8: { $0 == "0" || $0 == "1" },
        9: { ["", "0.0", "1.0", "2.0"].contains(String($0)) },
        10: { $0 == "0" || $0 == "1" },
        11: { ["", "A", "B", "C", "D"].contains(String($0)) },
        12: { Int($0) != nil },
        13: { $0 == "True" || $0 == "False" },
    ]

    @Test func headerAndFormatsMatchRSNA() throws {
        let real = try String(contentsOfFile: Repo.fixture("rsna/train-head.csv"), encoding: .utf8).split(whereSeparator: \.isNewline)
        let ours = CohortTable.trainCSV(CohortTable.sample(CohortParameters(patients: 60, seed: 3))).split(whereSeparator: \.isNewline)
        #expect(ours[0] == real[0])
        for (name, lines) in [("RSNA", real), ("ours", ours)] {
            for line in lines.dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                #expect(fields.count == 14, "\(name): \(line)")
                for (column, valid) in Self.validators where !valid(fields[column]) {
                    Issue.record("\(name): column \(CohortTable.trainColumns[column]) has \(fields[column]) in \(line)")
                }
            }
        }
    }

    @Test func sampledInRSNAsShape() {
        let records = CohortTable.sample(CohortParameters(patients: 4000, seed: 11))
        let patients = Dictionary(grouping: records, by: \.patientID)
        #expect(patients.count == 4000)
        let site1 = Double(patients.values.filter { $0[0].siteID == 1 }.count) / 4000
        #expect(abs(site1 - 5818.0 / 11913) < 0.03)
        // Views per breast: RSNA has 54,706 images of 23,826 breasts.
        let perBreast = Double(records.count) / 8000
        #expect(abs(perBreast - 54706.0 / 23826) < 0.05)
        #expect(records.contains { !["CC", "MLO"].contains($0.view) } == true)
        // Machine 49 dominates site 1 (4,589 of 5,818 patients).
        let site1Patients = patients.values.filter { $0[0].siteID == 1 }
        let share49 = Double(site1Patients.filter { $0[0].machineID == 49 }.count) / Double(site1Patients.count)
        #expect(abs(share49 - 4589.0 / 5818) < 0.04)
        // As in RSNA, site 2 has no densities, no BIRADS 1 or 2 and no implants.
        #expect(records.filter { $0.siteID == 2 }.allSatisfy { $0.density.isEmpty && $0.birads != "1.0" && !$0.implant })
        // Labels consistent within a breast and with each other.
        for (_, images) in Dictionary(grouping: records, by: { "\($0.patientID)\($0.laterality)" }) {
            let first = images[0]
            #expect(images.allSatisfy { $0.cancer == first.cancer && $0.birads == first.birads && $0.biopsy == first.biopsy })
            #expect(images.allSatisfy { $0.age == first.age && $0.machineID == first.machineID && $0.implant == first.implant })
            #expect(!first.cancer || (first.biopsy && !first.difficultNegative))
            #expect(!first.invasive || first.cancer)
            #expect(images.contains { $0.view == "CC" } && images.contains { $0.view == "MLO" })
        }
        let cancerBreasts = Double(Set(records.filter(\.cancer).map { "\($0.patientID)\($0.laterality)" }).count) / 8000
        #expect(abs(cancerBreasts - CohortParameters.rsnaPrevalence) < 0.01)
        // Sorted like RSNA's file and with unique image ids.
        #expect(records == records.sorted { ($0.patientID, $0.imageID) < ($1.patientID, $1.imageID) })
        #expect(Set(records.map(\.imageID)).count == records.count)
    }

    @Test func prevalenceIsAParameter() {
        let records = CohortTable.sample(CohortParameters(patients: 1000, seed: 5, prevalence: 0.25))
        let breasts = Set(records.filter(\.cancer).map { "\($0.patientID)\($0.laterality)" }).count
        #expect(abs(Double(breasts) / 2000 - 0.25) < 0.04)
    }

    @Test func testCSVHasRSNAsNineColumns() {
        let csv = CohortTable.testCSV(CohortTable.sample(CohortParameters(patients: 3, seed: 1))).split(whereSeparator: \.isNewline)
        #expect(csv[0] == "site_id,patient_id,image_id,laterality,view,age,implant,machine_id,prediction_id")
        for line in csv.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(f.count == 9)
            #expect(f[8] == "\(f[1])_\(f[3])")
        }
    }
}
