import Foundation
import Pipeline
import Shards
import Testing

/// A bad pipeline file and what its error must name.
struct BadPipeline: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    var sets: [String] = []
    let stage: String?
    let field: String?
    let says: String
    var testDescription: String { name }
}

let badPipelines: [BadPipeline] = [
    BadPipeline(name: "unknown dependency", yaml: "stages:\n  a: { run: stage-a }\n  b: { run: stage-b, deps: [nope] }\n",
                stage: "b", field: "deps", says: "unknown stage 'nope'"),
    BadPipeline(name: "cycle", yaml: "stages:\n  a: { run: stage-a, deps: [c] }\n  b: { run: stage-b, deps: [a] }\n  c: { run: stage-c, deps: [b] }\n",
                stage: "a", field: "deps", says: "dependency cycle a -> c -> b -> a"),
    BadPipeline(name: "missing executable", yaml: "stages:\n  a: { run: mammoflow-nothing-here }\n",
                stage: "a", field: "run", says: "executable 'mammoflow-nothing-here' not found"),
    BadPipeline(name: "missing run", yaml: "stages:\n  a: { params: { x: 1 } }\n", stage: "a", field: "run", says: "missing"),
    BadPipeline(name: "wrong param type from --set", yaml: "stages:\n  a: { run: stage-a, params: { factor: 4 } }\n",
                sets: ["a.factor=four"], stage: "a", field: "params.factor", says: "must be a number like the value it overrides (4), found a string \"four\""),
    BadPipeline(name: "fraction for a whole number", yaml: "stages:\n  a: { run: stage-a, params: { factor: 4 } }\n",
                sets: ["a.factor=2.5"], stage: "a", field: "params.factor", says: "must be a whole number"),
    BadPipeline(name: "--set of an unknown stage", yaml: "stages:\n  a: { run: stage-a }\n",
                sets: ["zz.factor=2"], stage: "zz", field: nil, says: "no such stage"),
    BadPipeline(name: "unknown top-level field", yaml: "stages:\n  a: { run: stage-a }\nstagse: {}\n",
                stage: nil, field: "stagse", says: "unknown top-level field"),
    BadPipeline(name: "unknown stage field", yaml: "stages:\n  a: { run: stage-a, dep: [b] }\n",
                stage: "a", field: "dep", says: "unknown field"),
    BadPipeline(name: "deps not a list", yaml: "stages:\n  a: { run: stage-a }\n  b: { run: stage-b, deps: { a: 1 } }\n",
                stage: "b", field: "deps", says: "must be a list of stage names"),
    BadPipeline(name: "params not a mapping", yaml: "stages:\n  a: { run: stage-a, params: [1, 2] }\n",
                stage: "a", field: "params", says: "must be a mapping"),
    BadPipeline(name: "bad foreach", yaml: "stages:\n  a: { run: stage-a, foreach: { fold: [] } }\n",
                stage: "a", field: "foreach", says: "non-empty list"),
    BadPipeline(name: "bad slices", yaml: "stages:\n  a: { run: stage-a, slices: 0 }\n",
                stage: "a", field: "slices", says: ">= 1"),
    BadPipeline(name: "not YAML", yaml: "stages: [a, {\n", stage: nil, field: nil, says: "not valid YAML"),
    BadPipeline(name: "no stages", yaml: "stages: {}\n", stage: nil, field: "stages", says: "no stages"),
    BadPipeline(name: "unknown resource", yaml: "stages:\n  a: { run: stage-a, resources: { gpus: 1 } }\n",
                stage: "a", field: "resources.gpus", says: "unknown field; expected one of cpus, gres, mem, partition, time"),
    BadPipeline(name: "cpus not a whole number", yaml: "stages:\n  a: { run: stage-a, resources: { cpus: 2.5 } }\n",
                stage: "a", field: "resources.cpus", says: ">= 1"),
    BadPipeline(name: "memory without a unit Slurm knows", yaml: "stages:\n  a: { run: stage-a, resources: { mem: 8GB } }\n",
                stage: "a", field: "resources.mem", says: "found '8GB'"),
    BadPipeline(name: "time in no Slurm form", yaml: "stages:\n  a: { run: stage-a, resources: { time: 2h } }\n",
                stage: "a", field: "resources.time", says: "found '2h'"),
    BadPipeline(name: "gres with a space", yaml: "stages:\n  a: { run: stage-a, resources: { gres: \"gpu 1\" } }\n",
                stage: "a", field: "resources.gres", says: "one word"),
    BadPipeline(name: "resources not a mapping", yaml: "stages:\n  a: { run: stage-a, resources: 4 }\n",
                stage: "a", field: "resources", says: "must be a mapping"),
    BadPipeline(name: "unknown executor kind", yaml: "executor: { kind: pbs }\nstages:\n  a: { run: stage-a }\n",
                stage: nil, field: "executor.kind", says: "must be one of local, slurm; found 'pbs'"),
    BadPipeline(name: "unknown executor field", yaml: "executor: { kind: slurm, queue: x }\nstages:\n  a: { run: stage-a }\n",
                stage: nil, field: "executor.queue", says: "unknown field; expected one of account, kind, options, partition"),
    BadPipeline(name: "an sbatch option that is two words", yaml: "executor: { kind: slurm, options: [\"--qos high\"] }\nstages:\n  a: { run: stage-a }\n",
                stage: nil, field: "executor.options", says: "each one token"),
]

/// The pipeline files we ship load and form a valid graph (rsna.yaml once named a stage it removes). Their
/// executables are stand-ins here: only the files are checked.
@Test(arguments: ["demo.yaml", "rsna.yaml", "variants/reduced-decode.yaml"])
func shippedPipelineFilesAreValid(_ name: String) throws {
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let spec = try PipelineLoader.load(package.appendingPathComponent("pipelines/\(name)").path)
    let bin = try scratch() + "/bin"
    for stage in spec.stages { try write("\(bin)/\(stage.run)", "#!/bin/sh\n", executable: true) }
    _ = try Pipeline(spec, resolver: ExecutableResolver(besideDirectories: [bin], searchPath: []))
}

@Test(arguments: badPipelines)
func aBadPipelineFileGetsAnErrorNamingFileStageAndField(_ bad: BadPipeline) throws {
    let ws = try Workspace()
    let file = "\(ws.root)/bad.yaml"
    try write(file, bad.yaml)
    do {
        _ = try Pipeline(PipelineLoader.load(file, sets: bad.sets), resolver: ws.resolver)
        Issue.record("\(bad.name): no error")
    } catch let error as PipelineError {
        #expect(error.stage == bad.stage, "\(error)")
        #expect(error.field == bad.field, "\(error)")
        #expect(error.description.contains(bad.says), "\(error)")
        if bad.sets.isEmpty { #expect(error.file == file) }
        else { #expect(error.file.hasPrefix("--set ")) }
    }
}

@Test func errorsCarryTheLineOfTheStage() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", "stages:\n  a: { run: stage-a }\n\n  b:\n    run: stage-b\n    deps: [x]\n")
    #expect(throws: PipelineError.self) { try ws.pipeline("p.yaml") }
    do { _ = try ws.pipeline("p.yaml") } catch let error as PipelineError {
        #expect(error.description == "\(ws.root)/p.yaml:5: stage 'b', field 'deps': unknown stage 'x'; stages: a, b")
    }
}

@Test func aVariantThatChangesAParamsTypeIsAnError() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", "stages:\n  a: { run: stage-a, params: { views: [MLO] } }\n")
    try write("\(ws.root)/v.yaml", "extends: p.yaml\nstages:\n  a: { params: { views: 3 } }\n")
    #expect(throws: PipelineError(file: "\(ws.root)/v.yaml", line: 3, stage: "a", field: "params.views",
                                  reason: "must be a list like the value it overrides ([\"MLO\"]), found a number 3")) {
        try ws.pipeline("v.yaml")
    }
    try write("\(ws.root)/loop.yaml", "extends: loop.yaml\nstages: {}\n")
    #expect(throws: PipelineError.self) { try ws.pipeline("loop.yaml") }
}

@Test func setValuesAreReadAsYAMLScalars() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", "stages:\n  a: { run: stage-a, params: { n: 1, name: x, on: false, r: 0.5 } }\n")
    let spec = try PipelineLoader.load("\(ws.root)/p.yaml", sets: ["a.n=7", "a.name=MLO", "a.on=true", "a.r=2", "a.new=[CC, MLO]"])
    #expect(spec.stage("a")?.params == ["n": 7, "name": "MLO", "on": true, "r": 2, "new": ["CC", "MLO"]])
}

@Test func theCacheKeyCoversEveryPartAndOnlyThose() {
    let base = KeyParts(executable: "e1", params: ["factor": 4], inputs: ["decode": "c1"], slices: 1)
    var changed = [base.key]
    for variant in [
        KeyParts(schema: 2, executable: "e1", params: ["factor": 4], inputs: ["decode": "c1"], slices: 1),
        KeyParts(executable: "e2", params: ["factor": 4], inputs: ["decode": "c1"], slices: 1),
        KeyParts(executable: "e1", params: ["factor": 2], inputs: ["decode": "c1"], slices: 1),
        KeyParts(executable: "e1", params: ["factor": 4], inputs: ["decode": "c2"], slices: 1),
        KeyParts(executable: "e1", params: ["factor": 4], inputs: ["decode": "c1"], slices: 2),
    ] {
        changed.append(variant.key)
        #expect(variant.changes(since: base).count == 1)
    }
    #expect(Set(changed).count == 6)
    // The key is the SHA-256 of the canonical JSON of the parts (docs/architecture.md).
    #expect(base.key == Digest.sha256Hex(#"{"executable":"e1","inputs":{"decode":"c1"},"params":{"factor":4},"schema":1,"slices":1}"#))
    #expect(KeyParts(executable: "e1", params: ["factor": 4.0], inputs: ["decode": "c1"], slices: 1).key == base.key)
}

@Test func aVariantCanRemoveAnInheritedStage() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", "stages:\n  a: { run: stage-a }\n  b: { run: stage-b, deps: [a] }\n  c: { run: stage-c, deps: [b] }\n")
    try write("\(ws.root)/v.yaml", "extends: p.yaml\nstages:\n  a: ~\n  d: { run: stage-d }\n  b: { deps: [d] }\n")
    #expect(try ws.pipeline("v.yaml").stages.map(\.name) == ["d", "b", "c"])
    // Removing a stage others still need is caught like any unknown dependency.
    try write("\(ws.root)/w.yaml", "extends: p.yaml\nstages:\n  a: ~\n")
    #expect(throws: PipelineError.self) { try ws.pipeline("w.yaml") }
}

@Test func resourcesAndTheExecutorAreReadAndAVariantReplacesOnlyWhatItNames() throws {
    let ws = try Workspace()
    try write("\(ws.root)/base.yaml", """
    executor: { kind: slurm, partition: cpu, options: [--qos=normal] }
    stages:
      a: { run: stage-a, resources: { cpus: 4, mem: 8G, time: 1:00:00 } }
      b: { run: stage-b, deps: [a], slices: 2 }
    """)
    try write("\(ws.root)/gpu.yaml", """
    extends: base.yaml
    executor: { account: lab }
    stages:
      a: { resources: { time: 2-00:00:00, partition: gpu, gres: "gpu:1" } }
    """)
    let base = try ws.pipeline("base.yaml")
    #expect(base.executor == ExecutorSpec(kind: .slurm, partition: "cpu", options: ["--qos=normal"]))
    #expect(base.stage("a")!.resources == StageResources(cpus: 4, mem: "8G", time: "1:00:00"))
    #expect(base.stage("b")!.resources == StageResources())
    let variant = try ws.pipeline("gpu.yaml")
    #expect(variant.executor == ExecutorSpec(kind: .slurm, partition: "cpu", account: "lab", options: ["--qos=normal"]))
    #expect(variant.stage("a")!.resources == StageResources(cpus: 4, mem: "8G", time: "2-00:00:00", partition: "gpu", gres: "gpu:1"))
    // Resources are not part of the cache key: the same work on another partition is the same work.
    #expect(try ws.engine("base.yaml").units(of: base.stage("a")!, inputs: [:]).map(\.key)
            == ws.engine("gpu.yaml").units(of: variant.stage("a")!, inputs: [:]).map(\.key))
    #expect(try ws.pipeline("base.yaml").executor.kind == .slurm)
    try write("\(ws.root)/plain.yaml", "stages:\n  a: { run: stage-a }\n")
    #expect(try ws.pipeline("plain.yaml").executor == ExecutorSpec())
}

@Test func slurmTimeAndMemoryForms() {
    for good in ["30", "30:00", "1:00:00", "2-0", "2-12:00", "2-12:00:00"] { #expect(StageResources.isTimeLimit(good), "\(good)") }
    for bad in ["", "2h", "1:2:3:4", "-1", "2-", "1-2-3", "a:00", "1::0"] { #expect(!StageResources.isTimeLimit(bad), "\(bad)") }
    for good in ["4000", "8G", "512M", "1T", "16k"] { #expect(StageResources.isMemory(good), "\(good)") }
    for bad in ["", "G", "8GB", "1.5G", "-1", "8 G"] { #expect(!StageResources.isMemory(bad), "\(bad)") }
}
