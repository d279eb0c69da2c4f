import Foundation
import Shards

/// The directory holding the built `mammoflow` binaries: beside the running test bundle, or the package's
/// .build/debug.
public func builtProductsDirectory() -> String? {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var candidates = [URL(fileURLWithPath: exe).deletingLastPathComponent().path]
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(package.appendingPathComponent(".build/debug").path)
    return candidates.first { FileManager.default.isExecutableFile(atPath: "\($0)/mammoflow") }
}

/// What a finished process printed. `output` is stdout and stderr together, in order, unless they were asked
/// apart (then `stdout` and `stderr`, and `output` is stdout then stderr).
public struct ProcessOutput {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var output: String { stdout + stderr }
}

/// Runs a command to its end. With `separateStderr: false` both streams go to one pipe, read as `stdout`.
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String], cwd: String? = nil, separateStderr: Bool = false) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = separateStderr ? Pipe() : out
    process.standardOutput = out
    process.standardError = err
    let exit = try process.start()
    // stderr is drained on another thread so that a stage filling one pipe cannot block on the other.
    var errors = Data()
    let drained = DispatchSemaphore(value: 0)
    if separateStderr {
        Thread.detachNewThread {
            errors = err.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    if separateStderr { drained.wait() }
    exit.wait()
    return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                         stderr: String(decoding: errors, as: UTF8.self))
}
