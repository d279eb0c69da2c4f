import Testing
@testable import Validation

@Suite struct CSVTests {
    @Test func quotedFieldsCRLFAndEmbeddedLineBreaks() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n2,\"two\nlines\",\r\n3,,z"
        let table = try CSVTable(parsing: Array(text.utf8), file: "t.csv")
        #expect(table.header == ["a", "b", "c"])
        #expect(table.rows == [["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""], ["3", "", "z"]])
        #expect(table.lines == [2, 3, 5])
        #expect(try table.ints("a") == [1, 2, 3])
    }

    @Test func errorsNameFileLineAndColumn() throws {
        let table = try CSVTable(parsing: Array("id,score\n1,0.5\n2,\"multi\nline\"\n3,oops\n".utf8), file: "p.csv")
        #expect(throws: CSVError(file: "p.csv", line: 3, column: "score", reason: "expected a number, found \"multi\nline\"")) {
            try table.doubles("score")
        }
        #expect(throws: CSVError.self) { try table.strings("missing") }
        #expect(throws: CSVError(file: "q.csv", line: 3, reason: "3 fields, the header has 2")) {
            try CSVTable(parsing: Array("a,b\n1,2\n1,2,3\n".utf8), file: "q.csv")
        }
        #expect(throws: CSVError(file: "r.csv", line: 2, reason: "a quoted field is never closed")) {
            try CSVTable(parsing: Array("a\n\"open\n".utf8), file: "r.csv")
        }
        #expect(throws: CSVError(file: "s.csv", line: 2, reason: "text after a closing quote")) {
            try CSVTable(parsing: Array("a,b\n\"x\"y,1\n".utf8), file: "s.csv")
        }
    }

    @Test func formatRoundTrips() throws {
        let rows = [["1", "a,b"], ["2", "say \"x\"\nnext"]]
        let text = CSVTable.format(header: ["n", "s"], rows: rows)
        #expect(try CSVTable(parsing: Array(text.utf8), file: "f").rows == rows)
    }

    @Test func readsRSNATrainCSV() throws {
        let table = Fixtures.trainTable
        #expect(table.count == 54_706)
        #expect(table.header.count == 14)
        #expect(Set(try table.strings("patient_id")).count == 11_913)
        #expect(try table.binary("cancer").reduce(0, +) == 1_158)
        // 37 images have no age: the typed accessor names the first one.
        #expect(throws: CSVError(file: "train.csv", line: 9965, column: "age", reason: "expected a whole number, found \"\"")) {
            try table.ints("age")
        }
    }
}
