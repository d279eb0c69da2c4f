import Foundation

/// Finds stage executables: a name with a '/' is a path relative to the pipeline file; a bare name is
/// looked up beside the `mammoflow` binary first (so a build's own stages win), then on PATH.
public struct ExecutableResolver: Sendable {
    public var besideDirectories: [String]
    public var searchPath: [String]

    public init(besideDirectories: [String], searchPath: [String] = ExecutableResolver.environmentPath) {
        self.besideDirectories = besideDirectories
        self.searchPath = searchPath
    }

    public static var environmentPath: [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
    }

    /// The directory of the running executable (via /proc/self/exe, so symlinks resolve).
    public static var runningExecutableDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    public func resolve(_ run: String, pipelineFile: String) -> String? {
        candidates(run, pipelineFile: pipelineFile).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func candidates(_ run: String, pipelineFile: String) -> [String] {
        if run.hasPrefix("/") { return [run] }
        if run.contains("/") {
            let base = URL(fileURLWithPath: pipelineFile).deletingLastPathComponent()
            return [base.appendingPathComponent(run).standardizedFileURL.path]
        }
        return (besideDirectories + searchPath).map { "\($0)/\(run)" }
    }

    func describeSearch(_ run: String, pipelineFile: String) -> String {
        if run.contains("/") { return candidates(run, pipelineFile: pipelineFile).joined(separator: ", ") }
        return "beside mammoflow in \(besideDirectories.joined(separator: ", ")), then PATH"
    }
}
