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
