import ArgumentParser
import Foundation
import Pipeline
import Shards

struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "List the params a stage's executable declares (type, range, default, help) and the values the pipeline gives.",
        discussion: "Works even when the pipeline's params are wrong, so that it can say what they should be. A stage whose executable declares nothing (docs/stage-contract.md) has its params unchecked."
    )

    @Argument(help: "The stage.")
    var stage: String

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    func run() throws {
        var loaded = try userFacing { try pipeline.load() }
        guard loaded.stage(stage) != nil, let executable = loaded.executables[stage] else {
            throw ValidationError("no stage '\(stage)' in \(pipeline.file); stages: \(loaded.stages.map(\.name).joined(separator: ", "))")
        }
        let sha = try Digest.sha256Hex(file: executable)
        guard let description = try ParamDescriptions(store: cacheOptions.store).description(of: executable, sha256: sha) else {
            print("\(stage) (\(executable)) declares no params; the pipeline gives: \(JSONValue.object(loaded.stage(stage)!.params).canonicalText)")
            return
        }
        loaded.resolvePaths(of: stage, declared: description.params)
        let spec = loaded.stage(stage)!
        print("\(stage) (\(executable)):")
        print(ParamSpec.listing(description.params))
        print("\(pipeline.file) gives: \(JSONValue.object(spec.params).canonicalText)")
        let problems = Engine.paramProblems(of: spec, against: description.params)
        for problem in problems { print("error: \(problem)") }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
