import Foundation

/// Record-level reuse (docs/stage-contract.md, "Record reuse"): a stage that reruns because some of its input
/// records changed copies, from the artifact an earlier run of the same executable and params wrote (the job's
/// `reuse`), every record whose own inputs are unchanged, its stored frame as it is, and computes only the
/// others. Each record's metadata carries the SHA-256 of its own inputs (`field`) so that the comparison needs
/// neither the earlier inputs nor any pixel; a cold run writes the same field, so both write the same bytes.
public enum RecordReuse {
    /// The metadata field with the SHA-256 of what the record was made from (besides executable and params).
    public static let field = "inputs_sha256"

    /// The SHA-256 (hex) of a record's own inputs, described as JSON (hashed in canonical form).
    public static func digest(_ inputs: JSONValue) -> String {
        Digest.sha256Hex(inputs.canonicalBytes)
    }

    /// The machine-readable line (stderr) with which a job reports how many records it copied and computed;
    /// the scheduler adds them up for `mammoflow run`'s summary.
    public static func reportLine(reused: Int, computed: Int) -> String { "records reused \(reused) computed \(computed)" }

    /// `(reused, computed)` from a `reportLine`, nil for any other line.
    public static func parseReportLine(_ line: String) -> (reused: Int, computed: Int)? {
        let fields = line.split(separator: " ")
        guard fields.count == 5, fields[0] == "records", fields[1] == "reused", fields[3] == "computed",
              let reused = Int(fields[2]), let computed = Int(fields[4]), reused >= 0, computed >= 0 else { return nil }
        return (reused, computed)
    }
}
