import Foundation
@testable import Imaging

/// Tests/Fixtures/Imaging, found from this file so tests run from any directory.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/Imaging").path

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "imaging-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// What the independent reference reader (Fixtures/Imaging/png_reference.py, Python standard library) sees in a PNG.
struct ReferencePNG: Decodable {
    let width: Int
    let height: Int
    let depth: Int
    let color: Int
    let chunks: [String]
    let sbit: [Int]?
    let samples: [Int]

    init(path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "\(fixtures)/png_reference.py", "read", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
        }
        self = try JSONDecoder().decode(ReferencePNG.self, from: data)
    }
}

/// The reference script's fixture pattern (png_reference.py `pattern`).
func referencePattern(x: Int, y: Int, c: Int, depth: Int) -> Int {
    ((x &* 2654435761) ^ (y &* 40503) ^ (c &* 977) ^ (x &* y)) % (1 << depth)
}
