import ArgumentParser
import Pipeline

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
