import ArgumentParser
import Foundation
import Pipeline

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "List the objects and runs no current pipeline references (dry run); --apply deletes them.",
        discussion: "Kept: the fresh runs of the pipelines (with their params as the files say) and the runs each pipeline file's stages were last run with, `--set` overrides included (cache/last/). A pipeline file that cannot be read is reported and skipped; its last runs are kept."
    )

    @OptionGroup var cacheOptions: CacheOptions

    @Option(name: .customLong("pipeline"), help: "Pipelines whose fresh runs are kept (default: every pipelines/**/*.yaml).")
    var pipelines: [String] = []

    @Flag(help: "Delete them.")
    var apply = false

    func run() throws {
        let files = pipelines.isEmpty ? Self.defaultPipelines() : pipelines
        try cacheOptions.requireExisting(for: "collect")
        let lock = try cacheOptions.lock(command: "mammoflow gc")
        defer { lock.release() }
        let store = cacheOptions.store
        var live = store.lastRunKeys()
        let lastRuns = live.count
        var unreadable: [String] = []
        for file in files {
            do {
                live.formUnion(try PipelineOptions.parse([file]).engine(cacheOptions).liveRunKeys())
            } catch {
                // Keeping more is safe; failing here would leave the user no gc at all.
                printError("warning: \(error); its runs are kept only as far as they were its last runs")
                unreadable.append(file)
            }
        }
        let result = store.collectGarbage(live: live, apply: apply)
        let verb = apply ? "deleted" : "would delete"
        let read = files.filter { !unreadable.contains($0) }
        print("kept \(live.count) runs: the last runs of every pipeline (\(lastRuns)) and the fresh runs of \(read.isEmpty ? "no pipeline" : read.joined(separator: ", "))")
        print("\(verb) \(result.runs.count) runs and \(result.objects.count) objects (\(result.bytes) bytes)")
        if !apply && !result.objects.isEmpty { print("run with --apply to delete them") }
    }

    static func defaultPipelines() -> [String] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: "pipelines") else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "pipelines/\($0)" }
    }
}
