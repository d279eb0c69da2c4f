import Foundation
import Testing
@testable import Shards

@Test func waitReturnsOnceTheChildHasExitedWithItsStatus() throws {
    // The child writes after its parent's read would have returned: wait() must not return before the end.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("process-exit-\(getpid())").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for status: Int32 in [0, 7] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec >&-; sleep 0.2; echo done > \(folder)/\(status); exit \(status)"]
        process.standardOutput = Pipe()
        let exit = try process.start()
        exit.wait()
        #expect(!process.isRunning)
        #expect(process.terminationStatus == status)
        #expect(FileManager.default.contents(atPath: "\(folder)/\(status)") == Data("done\n".utf8))
    }
}
