import Testing
@testable import Validation

@Suite struct CohortRowsTests {
    static let table = try! CSVTable(parsing: Array("""
        site_id,patient_id,image_id,laterality,view,age,cancer,density
        1,10,100,L,CC,61,0,B
        1,10,101,X,MLO,61,0,B
        1,11,110,R,CC,sixty,maybe,B
        2,12,120,L,MLO,,1,
        2,13,130,R,CC,50,0,E

        """.utf8), file: "train.csv")

    @Test func imageStagesCheckOnlyTheCellsThatDescribeAnImage() {
        #expect(CohortRows.imageColumns == ["patient_id", "image_id", "laterality", "view"])
        #expect(CohortRows.imageProblem(ofRow: 0, in: Self.table) == nil)
        #expect(CohortRows.imageProblem(ofRow: 1, in: Self.table) == "train.csv line 3: column laterality: \"X\" is not L or R")
        #expect(CohortRows.imageProblem(ofRow: 2, in: Self.table) == nil, "labels are not an image stage's business")
        #expect(CohortRows.problem(ofRow: 2, in: Self.table)
                == "train.csv line 4: column age: \"sixty\" is not a number of years or empty; column cancer: \"maybe\" is not 0 or 1")
    }

    @Test func labelStagesUseTheRowsWithEveryCellOfItsKindAndRejectTheOthersOnce() throws {
        // Row 1 (laterality X) was rejected upstream (by decode or ingest): left out, not rejected again.
        let (usable, rejects) = try CohortRows.usableRows(of: Self.table, rejectedUpstream: ["10/101"])
        #expect(try ScoringInput.keys(of: usable) == ["10/100", "12/120"])
        #expect(usable.lines == [2, 5], "rows keep their lines in the file")
        #expect(rejects.map(\.key) == ["11/110", "13/130"])
        #expect(rejects[1].reason == "train.csv line 6: column density: \"E\" is not A, B, C, D or empty")
    }
}
