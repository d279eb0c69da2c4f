/// The typed columns of an RSNA cohort table (train.csv, test.csv) and what each may hold, so that a row
/// with `cancer=maybe` or `age=sixty` is rejected where the table is read (ingest, decode) instead of being
/// carried downstream as a string.
public enum CohortRows {
    /// Column -> (accepts a cell, what it must be). Absent columns are not checked; other columns are free.
    static let rules: [String: (accepts: (String) -> Bool, expected: String)] = [
        "patient_id": ({ !$0.isEmpty && !$0.contains("/") }, "a non-empty id without '/'"),
        "image_id": ({ !$0.isEmpty && !$0.contains("/") }, "a non-empty id without '/'"),
        "laterality": ({ $0 == "L" || $0 == "R" }, "L or R"),
        "cancer": (isBinary, "0 or 1"),
        "biopsy": (isBinary, "0 or 1"),
        "invasive": (isBinary, "0 or 1"),
        "implant": (isBinary, "0 or 1"),
        "difficult_negative_case": ({ isBinary($0) || $0 == "True" || $0 == "False" }, "True, False, 0 or 1"),
        "age": ({ $0.isEmpty || Double($0).map { (0...150).contains($0) } == true }, "a number of years or empty"),
        "BIRADS": ({ $0.isEmpty || ["0", "1", "2", "0.0", "1.0", "2.0"].contains($0) }, "0, 1, 2 or empty"),
        "density": ({ $0.isEmpty || ["A", "B", "C", "D"].contains($0) }, "A, B, C, D or empty"),
        "site_id": ({ Int($0) != nil }, "a whole number"),
        "machine_id": ({ Int($0) != nil }, "a whole number"),
    ]

    static func isBinary(_ cell: String) -> Bool { cell == "0" || cell == "1" }

    /// What is wrong with row `r` of `table` ("column cancer: \"maybe\" is not 0 or 1; ..."), nil if nothing.
    public static func problem(ofRow r: Int, in table: CSVTable) -> String? {
        let cells = table.rows[r]
        let problems = zip(table.header, cells).compactMap { column, raw -> String? in
            guard let rule = rules[column] else { return nil }
            let cell = raw.trimmingBlanks
            return rule.accepts(cell) ? nil : "column \(column): \"\(cell)\" is not \(rule.expected)"
        }
        return problems.isEmpty ? nil : "\(table.file) line \(table.lines[r]): " + problems.joined(separator: "; ")
    }
}

extension String {
    /// Without leading and trailing spaces and tabs. Not Foundation's trimming, which is slow over a full table
    /// whose rows have none (docs/measurements.md).
    public var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first, let last, blank(first) || blank(last) else { return self }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
