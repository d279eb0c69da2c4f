import Shards

/// The one file called `name` among all of a stage's inputs (a stage that needs train.csv does not care
/// whether synth or ingest made it); an error naming the inputs searched when none or several have it.
public func tableFile(named name: String, in context: StageContext) throws -> ArtifactFile {
    try optionalTableFile(named: name, in: context) ?? {
        throw StageError(stage: context.stage, reason: "no input lists \(name); inputs: \(context.job.inputs.keys.sorted().joined(separator: ", "))")
    }()
}

/// Like `tableFile(named:in:)`, nil when no input has the file.
public func optionalTableFile(named name: String, in context: StageContext) throws -> ArtifactFile? {
    let holders = context.job.inputs.keys.sorted().filter { context.job.inputs[$0]!.file(name) != nil }
    guard holders.count <= 1 else {
        throw StageError(stage: context.stage, reason: "several inputs list \(name): \(holders.joined(separator: ", "))")
    }
    return holders.first.flatMap { context.job.inputs[$0]!.file(name) }
}
