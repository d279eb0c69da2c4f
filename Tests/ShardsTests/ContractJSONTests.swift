import Foundation
import Testing
@testable import Shards

// The stage contract's documents have hand-written JSON forms (speed); Foundation's Codable forms of the same
// types are the reference they must agree with byte for byte once canonicalised.

private func tricky() -> ArtifactManifest {
    let files = [
        ArtifactFile(path: "b/ä \"quoted\"\\back.dcm", sha256: String(repeating: "ab", count: 32), size: 12, source: "/data/b/ä.dcm"),
        ArtifactFile(path: "a.mgs", sha256: String(repeating: "0f", count: 32), size: 1 << 40, records: 7, location: "/cache/objects/0f/x"),
        ArtifactFile(path: "tab\tnew\nline\u{01}.txt", sha256: String(repeating: "99", count: 32), size: 0),
    ]
    let summary: JSONValue = ["auc": 0.8125, "big": 1e20, "tiny": -2.5e-7, "whole": 3.0, "n": 54706, "neg": -12,
                              "nested": ["list": [1, "two", nil, true, false], "emoji": "🙂/é"], "/slash": "a/b"]
    return ArtifactManifest(stage: "ingest", files: files, records: 2,
                            rejects: [Reject(key: "1", file: "/x/1.dcm", reason: "missing", stage: "ingest"), Reject(key: "2", reason: "bad")],
                            summary: summary)
}

@Test func manifestJSONMatchesTheCodableFormAndRoundTrips() throws {
    let manifest = tricky()
    #expect(manifest.files.map(\.path) == ["a.mgs", "b/ä \"quoted\"\\back.dcm", "tab\tnew\nline\u{01}.txt"])  // given unsorted
    let reference = try JSONValue(encoding: manifest).canonicalBytes
    #expect(manifest.canonicalJSON == reference)
    // (Round trips compare bytes: a summary's 3.0 comes back as the integer 3, equal in JSON, not in JSONValue.)
    #expect(try ArtifactManifest(jsonBytes: reference).canonicalJSON == reference)
    // The content id leaves out scheduler-filled locations.
    var unlocated = manifest
    unlocated.files = manifest.files.map { var f = $0; f.location = nil; return f }
    #expect(manifest.contentID == Digest.sha256Hex(try JSONValue(encoding: unlocated).canonicalBytes))
    // Foundation reads what we write, and we read what Foundation writes (pretty, escaped slashes).
    #expect(try JSONDecoder().decode(ArtifactManifest.self, from: Data(reference)).canonicalJSON == reference)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted]
    #expect(try ArtifactManifest(jsonBytes: Array(encoder.encode(manifest))).canonicalJSON == reference)
}

@Test func stageJobJSONMatchesTheCodableFormAndRoundTrips() throws {
    let job = StageJob(stage: "decode", params: ["bits": 16, "voi": "window", "scale": 0.25],
                       inputs: ["ingest": tricky(), "älter": ArtifactManifest(stage: "x", files: [], records: 0)],
                       output: "/cache/tmp/x/out", threads: 2, slice: JobSlice(index: 1, count: 3), reuse: tricky())
    let reference = try JSONValue(encoding: job).canonicalBytes
    #expect(job.canonicalJSON == reference)
    #expect(try StageJob(jsonBytes: reference).canonicalJSON == reference)
    var unsliced = job
    unsliced.slice = nil
    unsliced.reuse = nil
    #expect(unsliced.canonicalJSON == (try JSONValue(encoding: unsliced).canonicalBytes))
}

@Test func malformedManifestsNameTheFileAndTheField() throws {
    func error(_ text: String) -> String {
        do {
            _ = try ArtifactManifest(jsonFile: Array(text.utf8), named: "/tmp/job/out/manifest.json")
            return "no error"
        } catch { return "\(error)" }
    }
    let wrongType = error(#"{"files":[{"path":"a","sha256":"x","size":1},{"path":"b","sha256":5,"size":1}],"records":0,"rejects":[],"schema":1,"stage":"s"}"#)
    #expect(wrongType == "/tmp/job/out/manifest.json: files[1].sha256: expected a string, found a number")
    let missing = error(#"{"files":[],"rejects":[],"schema":1,"stage":"s"}"#)
    #expect(missing == "/tmp/job/out/manifest.json: records: is missing")
    let truncated = error(#"{"files":[{"path":"a","#)
    #expect(truncated.hasPrefix("/tmp/job/out/manifest.json: invalid JSON: "))
    #expect(error("[1,2]") == "/tmp/job/out/manifest.json: (document): expected a mapping, found a list")
    let job = #"{"inputs":{"decode":{"files":[{"path":"a","sha256":"x","size":"big"}],"records":0,"rejects":[],"schema":1,"stage":"d"}},"output":"/o","params":{},"schema":1,"stage":"s","threads":1}"#
    do {
        _ = try StageJob(jsonFile: Array(job.utf8), named: "job.json")
        Issue.record("a size that is a string was accepted")
    } catch {
        #expect("\(error)" == "job.json: inputs.decode.files[0].size: expected a whole number, found a string")
    }
    let fraction = error(#"{"files":[],"records":1.5,"rejects":[],"schema":1,"stage":"s"}"#)
    #expect(fraction == "/tmp/job/out/manifest.json: records: expected a whole number, found a number")
}

@Test func jsonParserReadsNumbersStringsAndRefusesBadText() throws {
    #expect(try JSONValue.parse("1795729427961069254") == .int(1_795_729_427_961_069_254))
    #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
    #expect(try JSONValue.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
    #expect(try JSONValue.parse("-0.5e1") == .double(-5))
    #expect(try JSONValue.parse(#""a\"b\\c\/d\u00e9\ud83d\ude42\n""#) == .string("a\"b\\c/dé🙂\n"))
    #expect(try JSONValue.parse(" [ true , false , null ] ") == [true, false, nil])
    #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }  // not UTF-8
    #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse("[1,]") }
    #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse("nul") }
    #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(#"{"a":1"#) }
    #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse("1 2") }
}

@Test func tabSeparatedFieldsReadNanosecondTimesAndRefuseOverflow() throws {
    let text = Array("F\t1795729427961069254\t-5\n\nx\t9223372036854775808\t12a\tlast".utf8)
    var lines: [[String]] = []
    var numbers: [Int64?] = []
    text.withUnsafeBufferPointer { buffer in
        TabSeparatedLines.forEach(in: buffer) { f in
            lines.append((0..<f.count).map { f.string($0) })
            numbers += (1..<f.count).map { f.integer($0) }
        }
    }
    #expect(lines == [["F", "1795729427961069254", "-5"], ["x", "9223372036854775808", "12a", "last"]])
    #expect(numbers == [1_795_729_427_961_069_254, -5, nil, nil, nil])
}

@Test func decimalsMatchTheStandardLibrary() {
    for value: Int64 in [0, 7, -7, 10, 1_795_729_427_961_069_254, .max, .min] {
        var out: [UInt8] = []
        appendDecimal(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(value))
    }
    var out: [UInt8] = []
    appendDecimal(UInt64.max, to: &out)
    #expect(String(decoding: out, as: UTF8.self) == String(UInt64.max))
}
