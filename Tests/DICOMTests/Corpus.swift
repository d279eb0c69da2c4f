import Foundation
@testable import DICOM

/// The conformance corpus: expected.tsv and probes.tsv from the fixtures, each file from the fixtures or,
/// for the large ones, from `../shared/dicom/files` beside the repository.
enum Corpus {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/dicom").path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    struct Expectation {
        let file: String
        let outcome: String
        let transferSyntax: String
        let rows: Int?
        let columns: Int?
        let storedType: String
        let sha256: String
        let minimum: Int?
        let maximum: Int?
        let photometric: String
    }

    struct Probe {
        let file: String
        let x: Int
        let y: Int
        let stored: Double
        let display: Double?
    }

    static func table(_ name: String) -> [[String]] {
        let text = (try? String(contentsOfFile: "\(fixtures)/\(name)", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    static let expectations: [Expectation] = table("expected.tsv").map {
        Expectation(file: $0[0], outcome: $0[1], transferSyntax: $0[2], rows: Int($0[3]), columns: Int($0[4]),
                    storedType: $0[5], sha256: $0[6], minimum: Int($0[7]), maximum: Int($0[8]), photometric: $0[9])
    }

    static let probes: [Probe] = table("probes.tsv").map {
        Probe(file: $0[0], x: Int($0[1])!, y: Int($0[2])!, stored: Double($0[3])!, display: Double($0[4]))
    }

    /// Where a corpus file is, or nil when neither the fixtures nor ../shared have it.
    static func path(_ name: String) -> String? {
        let candidates = ["\(fixtures)/files/\(name)"]
            + ["../shared", "../../shared"].map { repositoryRoot.appendingPathComponent($0).standardized.path + "/dicom/files/\(name)" }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
