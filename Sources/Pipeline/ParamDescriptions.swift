#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// The params stage executables declare (`STAGE --describe-params`, docs/stage-contract.md), asked once per
/// executable hash and remembered in `cache/state/params/<sha256>.json`. Only an executable whose bytes hold
/// the contract string is asked, so a stage that does not know the flag is never run with it; such a stage
/// declares nothing and its params are not checked. Every Swift stage holds the string (it is in the library);
/// one built without declarations answers with a non-zero exit status, which also means "declares nothing".
public struct ParamDescriptions {
    /// Where descriptions are remembered; nil to remember nothing (a cache that does not exist yet).
    let folder: String?

    public init(store: Store) {
        folder = FileManager.default.fileExists(atPath: store.root) ? "\(store.root)/state/params" : nil
    }

    /// The executable's declared params, or nil when it declares none.
    public func description(of executable: String, sha256: String) throws -> StageParamsDescription? {
        let remembered = folder.map { "\($0)/\(sha256).json" }
        if let remembered, let bytes = try? readFile(remembered), let json = try? JSONValue.parse(bytes) {
            return json["declares"] == false ? nil : try? StageParamsDescription(json: json)
        }
        let description = try Self.ask(executable)
        if let folder, let remembered {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try? writeFileAtomically(remembered, Array((description?.json ?? ["declares": false]).canonicalText.utf8))
        }
        return description
    }

    /// Runs `executable --describe-params` if it carries the contract string.
    static func ask(_ executable: String) throws -> StageParamsDescription? {
        guard try contains(executable, Array(StageParamsDescription.contract.utf8)) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--describe-params"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let exit = try process.start()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        exit.wait()
        guard process.terminationStatus == 0 else { return nil }
        do { return try StageParamsDescription(json: JSONValue.parse(Array(bytes))) } catch {
            throw FileError(path: executable, reason: "--describe-params: \(error)")
        }
    }

    /// Whether the file's bytes contain `needle` (Foundation's search, compiled optimised even in a debug build).
    static func contains(_ path: String, _ needle: [UInt8]) throws -> Bool {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return bytes.range(of: Data(needle)) != nil
    }
}
