import Testing
@testable import Validation

@Suite struct FoldsTests {
    static let patients = try! Fixtures.trainTable.strings("patient_id")
    static let cancer = try! Fixtures.trainTable.binary("cancer")

    /// Fold digit per patient in ascending patient order, as make_golden.py stores scikit-learn's.
    func foldsByPatient(_ folds: [Int]) -> String {
        var fold: [Int: Int] = [:]
        for (p, f) in zip(Self.patients, folds) { fold[Int(p)!] = f }
        return fold.keys.sorted().map { String(fold[$0]!) }.joined()
    }

    @Test(arguments: [(FoldMethod.stratifiedGroup, 4), (.stratifiedGroup, 5), (.group, 4), (.group, 5)])
    func unshuffledMatchesScikitLearnExactly(method: FoldMethod, k: Int) throws {
        let folds = try kFold(method: method, k: k, groups: Self.patients, labels: Self.cancer, seed: nil)
        let expected = Fixtures.golden["folds_by_patient"]!["\(method.rawValue) k=\(k)"]!.stringValue!
        #expect(foldsByPatient(folds) == expected)
    }

    /// The acceptance test on RSNA's train.csv, for several seeds.
    @Test(arguments: [42 as UInt64, 7, 2026])
    func seededStratifiedFoldsAreGroupedBalancedAndEven(seed: UInt64) throws {
        let k = 4
        let folds = try stratifiedGroupKFold(k: k, groups: Self.patients, labels: Self.cancer, seed: seed)
        var foldOfPatient: [String: Int] = [:]
        for (p, f) in zip(Self.patients, folds) { #expect(foldOfPatient.updateValue(f, forKey: p) ?? f == f) }
        let overall = Double(Self.cancer.reduce(0, +)) / Double(Self.cancer.count)
        let summary = summarizeFolds(folds, k: k, groups: Self.patients, labels: Self.cancer)
        for fold in summary { #expect(abs(fold.positiveRate - overall) < 0.002, "fold \(fold.fold) rate \(fold.positiveRate) vs \(overall)") }
        let sizes = summary.map(\.images)
        #expect(Double(sizes.max()! - sizes.min()!) <= 0.02 * Double(sizes.min()!), "sizes \(sizes)")
        #expect(summary.map(\.groups).reduce(0, +) == 11_913)
    }

    @Test func seedDecidesTheAssignment() throws {
        let a = try stratifiedGroupKFold(k: 4, groups: Self.patients, labels: Self.cancer, seed: 1)
        let b = try stratifiedGroupKFold(k: 4, groups: Self.patients, labels: Self.cancer, seed: 1)
        let c = try stratifiedGroupKFold(k: 4, groups: Self.patients, labels: Self.cancer, seed: 2)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func seededGroupFoldsSplitGroupsEvenly() throws {
        let folds = try groupKFold(k: 4, groups: Self.patients, seed: 3)
        let groups = summarizeFolds(folds, k: 4, groups: Self.patients, labels: Self.cancer).map(\.groups)
        #expect(groups == [2979, 2978, 2978, 2978]) // np.array_split of 11,913 groups
    }

    @Test func textGroupsAndBadRequests() throws {
        // Non-numeric ids sort as text; each group stays whole.
        let ids = ["b", "a", "c", "a", "d", "b", "e", "f"]
        let labels = [1, 0, 1, 0, 0, 1, 0, 1]
        let folds = try stratifiedGroupKFold(k: 2, groups: ids, labels: labels, seed: nil)
        #expect(folds[1] == folds[3] && folds[0] == folds[5])
        #expect(GroupIndex(ids).groups == ["a", "b", "c", "d", "e", "f"])
        #expect(GroupIndex(["10", "9", "100"]).groups == ["9", "10", "100"])
        #expect(throws: FoldError.self) { try groupKFold(k: 7, groups: ids, seed: nil) }
        #expect(throws: FoldError.self) { try stratifiedGroupKFold(k: 1, groups: ids, labels: labels, seed: nil) }
    }

    @Test func foldTableWritesKeysAndSummaryAndNeedsLabelsToStratify() throws {
        // RSNA's test.csv layout has no cancer column: plain group folds only.
        let testLayout = try CSVTable(parsing: Array("""
            site_id,patient_id,image_id,laterality,view,age,implant,machine_id,prediction_id
            2,10008,736471439,L,MLO,81,0,21,10008_L
            2,10008,1591370361,L,CC,81,0,21,10008_L
            2,10009,68070693,R,CC,67,0,29,10009_R
            1,10010,1234,L,CC,55,0,49,10010_L
            """.utf8), file: "test.csv")
        #expect(throws: CSVError(file: "test.csv", line: 1, column: "cancer",
                                 reason: "stratified folds need the cancer labels; this table has none (use method group)")) {
            try FoldTable(table: testLayout, method: .stratifiedGroup, k: 2, seed: nil)
        }
        let folds = try FoldTable(table: testLayout, method: .group, k: 2, seed: nil)
        let written = try CSVTable(parsing: Array(folds.csv.utf8), file: "folds.csv")
        #expect(written.header == ["image", "patient_id", "image_id", "fold"])
        // GroupKFold (scikit-learn gives the same): patient 10008 (2 images) into fold 0, then 10010 and 10009
        // (equal sizes: later group first) each into the lighter fold 1.
        #expect(written.rows == [["10008/736471439", "10008", "736471439", "0"], ["10008/1591370361", "10008", "1591370361", "0"],
                                 ["10009/68070693", "10009", "68070693", "1"], ["10010/1234", "10010", "1234", "1"]])
        #expect(folds.summaryJSON["folds"]?.arrayValue?.map { $0["images"]!.intValue! } == [2, 2])
        #expect(folds.summaryJSON["shuffled"] == .bool(false))
    }
}
