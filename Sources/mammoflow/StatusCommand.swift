import ArgumentParser
import Foundation
import Pipeline

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show which stages are fresh and why the others are stale (reads the cache, runs nothing)."
    )

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    func run() throws {
        cacheOptions.noteIfMissing()
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        let states = engine.states(outlook: true)
        let width = states.map(\.stage.name.count).max() ?? 0
        for (stage, state) in states {
            let name = stage.name.padding(toLength: width, withPad: " ", startingAt: 0)
            switch state {
            case .fresh(let artifact, _):
                print("fresh  \(name)  \(artifact.records) records, \(artifact.files.count) files\(artifact.rejects.isEmpty ? "" : ", \(artifact.rejects.count) rejects")")
            case .stale(let reasons, _):
                print("stale  \(name)  \(reasons.joined(separator: "; "))")
            }
        }
    }
}

struct WhyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Say which part of a stage's cache key changed since its last run (executable, params, inputs)."
    )

    @Argument(help: "The stage.")
    var stage: String

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    func run() throws {
        cacheOptions.noteIfMissing()
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        guard let entry = engine.states(outlook: true).first(where: { $0.stage.name == stage }) else {
            throw ValidationError("no stage '\(stage)' in \(pipeline.file)")
        }
        switch entry.state {
        case .fresh(_, let records):
            print("\(stage) is fresh: run \(records.map { String($0.key.prefix(12)) }.joined(separator: ", ")) matches its key")
        case .stale(let reasons, _):
            print("\(stage) is stale:")
            for reason in reasons { print("  - \(reason)") }
        }
    }
}

struct DagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dag",
        abstract: "Print the pipeline's stage graph as text, Graphviz dot or Mermaid."
    )

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    @Option(help: "text, dot or mermaid.")
    var format: String = "text"

    func run() throws {
        guard let format = DagFormat(rawValue: format) else {
            throw ValidationError("--format must be one of \(DagFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        cacheOptions.noteIfMissing()
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        let fresh = Set(engine.states().filter { $0.state.isFresh }.map(\.stage.name))
        print(engine.pipeline.render(format, fresh: fresh), terminator: "")
    }
}
