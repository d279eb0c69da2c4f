#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Pipeline

/// `--cache DIR`: the artifact store every engine command works on.
struct CacheOptions: ParsableArguments {
    @Option(name: .long, help: "The cache directory (artifact store).")
    var cache: String = "cache"

    var store: Store { Store(root: cache) }

    var exists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: cache, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// For a command that only reads (`status`, `dag`, `why`, `show`): says on stderr that the cache does not
    /// exist, rather than report on it as if it were empty. Nothing is created.
    func noteIfMissing() {
        if !exists { printError("note: there is no cache at \(cache) (nothing has run with this --cache yet); every stage is stale") }
    }

    /// For a command that works on the store (`verify`, `gc`): an error when there is none, rather than
    /// create it and report on nothing.
    func requireExisting(for command: String) throws {
        guard exists else {
            printError("error: there is no cache at \(cache): nothing to \(command) (give the cache with --cache DIR)")
            throw ExitCode(1)
        }
    }

    /// Takes the cache lock, saying who holds it while waiting.
    func lock(command: String) throws -> CacheLock {
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let lock = try CacheLock(path: store.lockPath)
        try lock.acquire(as: .current(command: command)) { message in
            FileHandle.standardError.write(Data("mammoflow: \(message)\n".utf8))
        }
        return lock
    }
}

/// `[FILE] [--set stage.param=value]...`: which pipeline, with which overrides.
struct PipelineOptions: ParsableArguments {
    @Argument(help: "The pipeline file.")
    var file: String = "pipelines/demo.yaml"

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one parameter; the value is read as YAML.", valueName: "stage.param=value"))
    var sets: [String] = []

    /// The validated pipeline; stage executables are looked up beside this binary, then on PATH.
    func load() throws -> Pipeline {
        let spec = try PipelineLoader.load(file, sets: sets)
        return try Pipeline(spec, resolver: ExecutableResolver(besideDirectories: [ExecutableResolver.runningExecutableDirectory]))
    }

    /// A `mammoflow` command line for a hint, with this pipeline's file, overrides and the cache: what the
    /// user must type to see what the hint promises.
    func hint(_ command: String, cache: CacheOptions) -> String {
        func quoted(_ s: String) -> String {
            s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@".contains($0) } ? s : "'\(s.replacingOccurrences(of: "'", with: "'\\''"))'"
        }
        let sets = sets.map { " --set \(quoted($0))" }.joined()
        let cacheOption = cache.cache == "cache" ? "" : " --cache \(quoted(cache.cache))"
        return "mammoflow \(command) \(quoted(file))\(sets)\(cacheOption)"
    }

    func engine(_ cache: CacheOptions) throws -> Engine {
        try Engine(pipeline: load(), store: cache.store)
    }
}

/// Pipeline file errors are the user's to fix: print them plainly (file:line: stage, field: reason) and exit 1,
/// without the usage text that ArgumentParser adds to its own errors.
func userFacing<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as PipelineError {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
