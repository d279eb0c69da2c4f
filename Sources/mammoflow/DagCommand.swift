import ArgumentParser
import Pipeline

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
