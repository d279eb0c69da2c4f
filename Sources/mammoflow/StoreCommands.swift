import ArgumentParser
import Foundation
import Pipeline

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Rehash every object in the cache; move corrupt ones to cache/quarantine so the next run rebuilds them."
    )

    @OptionGroup var cacheOptions: CacheOptions

    func run() throws {
        let lock = try cacheOptions.lock(command: "mammoflow verify")
        defer { lock.release() }
        let display = ProgressDisplay()
        let report = cacheOptions.store.verify { done, total in display.jobProgress("verify", done: done, total: total) }
        display.finish()
        print("checked \(report.checked) objects (\(report.bytes) bytes)")
        for (id, reason) in report.corrupt { print("corrupt \(id): \(reason) -> quarantined") }
        for run in report.affectedRuns { print("stale now: \(run)") }
        if !report.corrupt.isEmpty { throw ExitCode(1) }
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "List the objects and runs no current pipeline references (dry run); --apply deletes them."
    )

    @OptionGroup var cacheOptions: CacheOptions

    @Option(name: .customLong("pipeline"), help: "Pipelines whose fresh runs are kept (default: every pipelines/**/*.yaml).")
    var pipelines: [String] = []

    @Flag(help: "Delete them.")
    var apply = false

    func run() throws {
        let files = pipelines.isEmpty ? Self.defaultPipelines() : pipelines
        let lock = try cacheOptions.lock(command: "mammoflow gc")
        defer { lock.release() }
        var live = Set<String>()
        for file in files {
            let engine = try userFacing { try PipelineOptions.parse([file]).engine(cacheOptions) }
            live.formUnion(engine.liveRunKeys())
        }
        let result = cacheOptions.store.collectGarbage(live: live, apply: apply)
        let verb = apply ? "deleted" : "would delete"
        print("kept \(live.count) runs of \(files.joined(separator: ", "))")
        print("\(verb) \(result.runs.count) runs and \(result.objects.count) objects (\(result.bytes) bytes)")
        if !apply && !result.objects.isEmpty { print("run with --apply to delete them") }
    }

    static func defaultPipelines() -> [String] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: "pipelines") else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "pipelines/\($0)" }
    }
}
