import Foundation
import Testing
@testable import Synthesis

/// Python peers (pydicom + pylibjpeg, dicomsdl) in a venv under .bench/, pinned as in bench/requirements.txt.
enum PeerTools {
    static let venv = "\(Repo.root)/.bench/synth-peers"
    static var python: String { "\(venv)/bin/python" }
    static let wanted = ["numpy", "pydicom", "pylibjpeg", "pylibjpeg-openjpeg", "pylibjpeg-libjpeg", "dicomsdl"]

    @discardableResult
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static var installed: Bool { FileManager.default.fileExists(atPath: "\(venv)/.installed") }

    static var pypiReachable: Bool {
        run(["python3", "-c", "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pydicom/', timeout=15)"]).status == 0
    }

    /// Creates the venv and installs the pinned peers (once); throws with pip's output when that fails.
    static func ensure() throws {
        if installed { return }
        let requirements = try String(contentsOfFile: "\(Repo.root)/bench/requirements.txt", encoding: .utf8)
            .split(whereSeparator: \.isNewline).map(String.init)
            .filter { line in wanted.contains { line == $0 || line.hasPrefix($0 + "==") } }
        var r = run(["python3", "-m", "venv", venv])
        guard r.status == 0 else { throw PeerError(message: "venv: \(r.output)") }
        r = run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + requirements)
        guard r.status == 0 else { throw PeerError(message: "pip install \(requirements): \(r.output)") }
        _ = FileManager.default.createFile(atPath: "\(venv)/.installed", contents: Data(requirements.joined(separator: "\n").utf8))
    }

    struct PeerError: Error, CustomStringConvertible { let message: String; var description: String { message } }
}

struct PeerDecodeTests {
    /// Every vendor's encoding (both transfer syntaxes, 12-16 bits, MONOCHROME1 and 2) decodes with pydicom and
    /// dicomsdl to exactly the values we rendered.
    @Test(.enabled("skipped: PyPI cannot be reached to install pydicom/pylibjpeg/dicomsdl into .bench/synth-peers") {
        PeerTools.installed || PeerTools.pypiReachable
    })
    func peersDecodeOurFilesExactly() throws {
        try PeerTools.ensure()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("synth-peer-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let parameters = CohortParameters(seed: 5, scale: 0.06)
        for (i, machine) in VendorProfile.known.keys.sorted().enumerated() {
            let record = RenderingTests.record(machine: machine, laterality: i % 2 == 0 ? "L" : "R", view: i % 3 == 0 ? "CC" : "MLO",
                                               cancer: i % 4 == 0, implant: i == 5, id: 5000 + i)
            let rendered = MammogramRenderer.render(record, parameters: parameters)
            let file = try SyntheticCohort.dicomFile(record, rendered, seed: parameters.seed)
            try Data(file).write(to: URL(fileURLWithPath: "\(directory)/\(machine).dcm"))
            let raw = rendered.pixels.withUnsafeBufferPointer { Data(buffer: $0) }
            try raw.write(to: URL(fileURLWithPath: "\(directory)/\(machine).u16"))
        }
        let result = PeerTools.run([PeerTools.python, "\(Repo.root)/scripts/synth_peer_decode.py", directory])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\"files\": \(VendorProfile.known.count), \"failures\": 0"))
    }
}

struct CohortGenerationTests {
    /// Same parameters -> byte-identical files, whatever the number of threads.
    @Test func deterministicAcrossThreadCounts() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("synth-det-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let parameters = CohortParameters(patients: 3, seed: 9, scale: 0.05, prevalence: 0.5)
        let one = try SyntheticCohort.generate(parameters, into: "\(base)/a", threads: 1, testCSV: true)
        try SyntheticCohort.generate(parameters, into: "\(base)/b", threads: 2, testCSV: true)
        let files = try FileManager.default.subpathsOfDirectory(atPath: "\(base)/a").filter { !$0.hasSuffix("/") }.sorted()
        #expect(files.filter { $0.hasSuffix(".dcm") }.count == one.images)
        #expect(files.contains("train.csv") && files.contains("truth.jsonl") && files.contains("test.csv"))
        for f in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(base)/a/\(f)", isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            #expect(FileManager.default.contents(atPath: "\(base)/a/\(f)") == FileManager.default.contents(atPath: "\(base)/b/\(f)"), "\(f)")
        }
        let truth = try String(contentsOfFile: "\(base)/a/truth.jsonl", encoding: .utf8).split(whereSeparator: \.isNewline)
        #expect(truth.count == one.images)
    }
}
