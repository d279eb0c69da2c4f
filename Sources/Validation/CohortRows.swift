/// The typed columns of an RSNA cohort table (train.csv, test.csv) and what each may hold, so that a row
/// with `cancer=maybe` or `age=sixty` is rejected where the table is read instead of being carried
/// downstream as a string. Image-describing cells (`imageColumns`) are checked where images are read
/// (ingest, decode); the others where they are used (folds, train, predict, score: `usableRows`).
public enum CohortRows {
    /// The cells that describe an image rather than label it: its key (patient_id, image_id) and what the
    /// image stages read from a record's metadata (crop orients by `laterality`, pectoral picks images by
    /// `view`, contact sheets print both). Decode copies only these into an image record, so the records
    /// of decode, downscale, crop and pectoral depend on the image file, the stage and its params and these
    /// cells, never on labels or clinical columns (cancer, biopsy, BIRADS, age, density, site_id, ...): a
    /// label fix reruns the stages that join labels from the table, and none of the image stages. A column
    /// added here changes every image record: add one only when an image stage reads it.
    public static let imageColumns = ["patient_id", "image_id", "laterality", "view"]

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

    /// What is wrong with row `r` of `table` ("column cancer: \"maybe\" is not 0 or 1; ..."), nil if nothing;
    /// every typed column, or only those in `columns`.
    public static func problem(ofRow r: Int, in table: CSVTable, columns: [String]? = nil) -> String? {
        let cells = table.rows[r]
        let checked = columns.map(Set.init)
        let problems = zip(table.header, cells).compactMap { column, raw -> String? in
            guard let rule = rules[column], checked?.contains(column) ?? true else { return nil }
            let cell = raw.trimmingBlanks
            return rule.accepts(cell) ? nil : "column \(column): \"\(cell)\" is not \(rule.expected)"
        }
        return problems.isEmpty ? nil : "\(table.file) line \(table.lines[r]): " + problems.joined(separator: "; ")
    }

    /// What is wrong with the cells of row `r` that describe its image (`imageColumns`), nil if nothing.
    public static func imageProblem(ofRow r: Int, in table: CSVTable) -> String? {
        problem(ofRow: r, in: table, columns: imageColumns)
    }

    /// The rows of `table` a stage that uses labels can use: without those an earlier stage rejected
    /// (`rejectedUpstream`, keys "<patient_id>/<image_id>", reported there) and without rows that have a
    /// cell outside its column's kind, which are returned as rejects (key, reason naming file and line).
    public static func usableRows(of table: CSVTable, rejectedUpstream: Set<String>) throws -> (table: CSVTable, rejects: [(key: String, reason: String)]) {
        let keys = try ScoringInput.keys(of: table)
        var rejects: [(key: String, reason: String)] = []
        let usable = table.filter { r in
            if rejectedUpstream.contains(keys[r]) { return false }
            guard let problem = problem(ofRow: r, in: table) else { return true }
            rejects.append((keys[r], problem))
            return false
        }
        return (usable, rejects)
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
