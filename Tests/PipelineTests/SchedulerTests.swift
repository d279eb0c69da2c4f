import Foundation
import Pipeline
import Shards
import Testing

/// a -> b -> c, a -> d
let chain = """
stages:
  a: { run: stage-a, params: { n: 1 } }
  b: { run: stage-b, deps: [a], params: { factor: 4 } }
  c: { run: stage-c, deps: [b] }
  d: { run: stage-d, deps: [a], params: { k: 4 } }
"""

@Test func everyStageIsFreshAfterARun() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    let first = FakeExecutor()
    let report = try ws.run("p.yaml", executor: first)
    #expect(report.succeeded)
    #expect(Set(first.stagesRun) == ["a", "b", "c", "d"])
    // Dependencies ran before dependents.
    #expect(first.stagesRun.firstIndex(of: "a")! < first.stagesRun.firstIndex(of: "b")!)
    #expect(first.stagesRun.firstIndex(of: "b")! < first.stagesRun.firstIndex(of: "c")!)
    #expect(try ws.engine("p.yaml").states().allSatisfy { $0.state.isFresh })

    let second = FakeExecutor()
    let again = try ws.run("p.yaml", executor: second)
    #expect(second.stagesRun.isEmpty)
    #expect(Set(again.fresh) == ["a", "b", "c", "d"])
    // Nothing is left in tmp, and every job got its inputs' locations.
    #expect(try FileManager.default.contentsOfDirectory(atPath: ws.store.tmpDirectory).isEmpty)
    let jobB = try #require(first.jobs.first { $0.stage == "b" })
    let location = try #require(jobB.inputs["a"]?.files.first?.location)
    #expect(location.hasPrefix("\(ws.cache)/objects/"))
}

@Test func aParamChangeRerunsThatStageAndItsDescendantsOnly() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    try ws.run("p.yaml", executor: FakeExecutor())

    let engine = try ws.engine("p.yaml", sets: ["b.factor=2"])
    let stale = engine.states().filter { !$0.state.isFresh }.map(\.stage.name)
    #expect(stale == ["b", "c"])
    guard case .stale(let reasons, _) = engine.states().first(where: { $0.stage.name == "b" })!.state else { return }
    #expect(reasons == ["param factor: 4 -> 2"])

    let executor = FakeExecutor()
    try ws.run("p.yaml", sets: ["b.factor=2"], executor: executor)
    #expect(executor.stagesRun.sorted() == ["b", "c"])
    // Back to the old value: both runs are still in the store, nothing runs.
    let back = FakeExecutor()
    try ws.run("p.yaml", executor: back)
    #expect(back.stagesRun.isEmpty)
}

@Test func aChangedStageExecutableRerunsIt() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    try ws.run("p.yaml", executor: FakeExecutor())
    try write("\(ws.root)/bin/stage-d", "#!/bin/sh\n# stage d, version 2\n", executable: true)

    let engine = try ws.engine("p.yaml")
    guard case .stale(let reasons, _) = engine.states().first(where: { $0.stage.name == "d" })!.state else {
        Issue.record("d should be stale")
        return
    }
    #expect(reasons.count == 1 && reasons[0].hasPrefix("executable changed"))
    let executor = FakeExecutor()
    try ws.run("p.yaml", executor: executor)
    #expect(executor.stagesRun == ["d"])
}

@Test func twoVariantsShareTheirCommonUpstreamWork() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    // The variant changes c's params and feeds d from b instead of a.
    try write("\(ws.root)/variants/v.yaml", """
    extends: ../p.yaml
    stages:
      c: { params: { extra: yes } }
      d: { deps: [b] }
    """)
    let base = FakeExecutor()
    try ws.run("p.yaml", executor: base)
    #expect(base.stagesRun.count == 4)
    let variant = FakeExecutor()
    let report = try ws.run("variants/v.yaml", executor: variant)
    #expect(report.succeeded)
    #expect(variant.stagesRun.sorted() == ["c", "d"])
    #expect(Set(report.fresh) == ["a", "b"])
    let spec = try PipelineLoader.load("\(ws.root)/variants/v.yaml")
    #expect(spec.stage("c")?.params == ["extra": true])
    #expect(spec.stage("d")?.deps == ["b"])
    #expect(spec.stage("d")?.params == ["k": 4])
}

@Test func aFailedStageStopsItsDependentsWhileTheRestFinish() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    let executor = FakeExecutor()
    let report = try ws.run("p.yaml", sets: ["b.fail=true"], executor: executor)
    #expect(!report.succeeded)
    #expect(Set(executor.stagesRun) == ["a", "b", "d"])
    #expect(report.blocked == ["c"])
    let failure = try #require(report.failed["b"])
    #expect(failure.contains("exit status 3"))
    #expect(failure.contains("asked to fail"))
    #expect(try ws.engine("p.yaml", sets: ["b.fail=true"]).states().map(\.state.isFresh) == [true, false, false, true])
}

@Test func foreachRunsOneCachedJobPerValue() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", """
    stages:
      a: { run: stage-a }
      b: { run: stage-b, deps: [a], foreach: { fold: [0, 1] }, params: { lr: 0.1 } }
      c: { run: stage-c, deps: [b] }
    """)
    let first = FakeExecutor()
    try ws.run("p.yaml", executor: first)
    #expect(Set(first.jobs.filter { $0.stage == "b" }.map { $0.params["fold"]! }) == [0, 1])
    // c sees one artifact with each fold's files in its own folder.
    let jobC = try #require(first.jobs.first { $0.stage == "c" })
    #expect(jobC.inputs["b"]?.files.map(\.path) == ["fold=0/result-0.txt", "fold=1/result-0.txt"])

    // A new value runs only that job; c reruns because its input changed.
    try write("\(ws.root)/p.yaml", """
    stages:
      a: { run: stage-a }
      b: { run: stage-b, deps: [a], foreach: { fold: [0, 1, 2] }, params: { lr: 0.1 } }
      c: { run: stage-c, deps: [b] }
    """)
    let second = FakeExecutor()
    try ws.run("p.yaml", executor: second)
    #expect(second.jobs.map(\.stage) == ["b", "c"])
    #expect(second.jobs[0].params["fold"] == 2)
}

@Test func aSlicedStageRunsAsIndependentJobsMergedIntoOneArtifact() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", """
    stages:
      a: { run: stage-a }
      b: { run: stage-b, deps: [a], slices: 3, params: { records: 5 } }
      c: { run: stage-c, deps: [b] }
    """)
    let executor = FakeExecutor()
    let report = try ws.run("p.yaml", executor: executor, options: RunOptions(jobs: 3, cores: 6))
    #expect(report.succeeded)
    let slices = executor.jobs.filter { $0.stage == "b" }
    #expect(slices.compactMap(\.slice).map(\.index).sorted() == [0, 1, 2])
    #expect(slices.allSatisfy { $0.slice?.count == 3 && $0.threads >= 2 })
    guard case .fresh(let artifact, let records) = try ws.engine("p.yaml").states()[1].state else {
        Issue.record("b should be fresh")
        return
    }
    #expect(records.count == 1)
    #expect(artifact.records == 15)
    #expect(artifact.files.map(\.path) == ["result-0.txt", "result-1.txt", "result-2.txt"])
}

@Test func untilRunsOnlyWhatTheStageNeedsAndForceRerunsAFreshStage() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    let partial = FakeExecutor()
    try ws.run("p.yaml", executor: partial, options: RunOptions(jobs: 1, cores: 2, until: "b"))
    #expect(partial.stagesRun == ["a", "b"])
    let forced = FakeExecutor()
    try ws.run("p.yaml", executor: forced, options: RunOptions(jobs: 1, cores: 2, force: ["a"]))
    // a reran and made the same bytes: b stays fresh; c and d had never run.
    #expect(forced.stagesRun.sorted() == ["a", "c", "d"])
    let dry = try ws.run("p.yaml", sets: ["d.k=5"], executor: FakeExecutor(), options: RunOptions(dryRun: true))
    #expect(dry.wouldRun.map(\.stage) == ["d"])
    #expect(dry.wouldRun[0].reasons == ["param k: 4 -> 5"])
}

@Test func aCorruptObjectIsCaughtByVerifyAndRebuiltByRun() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    try ws.run("p.yaml", executor: FakeExecutor())
    let engine = try ws.engine("p.yaml")
    guard case .fresh(let artifact, _) = engine.states()[1].state else { return }
    let object = ws.store.objectPath(artifact.files[0].sha256)
    chmod(object, 0o644)
    try write(object, "rot")

    let report = ws.store.verify()
    #expect(report.corrupt.map(\.id) == [artifact.files[0].sha256])
    #expect(report.affectedRuns.count == 1)
    #expect(FileManager.default.fileExists(atPath: "\(ws.store.quarantineDirectory)/\(artifact.files[0].sha256)"))
    guard case .stale(let reasons, _) = try ws.engine("p.yaml").states()[1].state else {
        Issue.record("b should be stale after its object was quarantined")
        return
    }
    #expect(reasons[0].contains("is missing"))

    let executor = FakeExecutor()
    try ws.run("p.yaml", executor: executor)
    #expect(executor.stagesRun == ["b"])
    #expect(ws.store.verify().corrupt.isEmpty)
}

@Test func aForcedRerunReplacesADamagedObjectWithTheGoodBytes() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    try ws.run("p.yaml", executor: FakeExecutor())
    guard case .fresh(let artifact, _) = try ws.engine("p.yaml").states()[1].state else { return }
    let id = artifact.files[0].sha256
    chmod(ws.store.objectPath(id), 0o644)
    try write(ws.store.objectPath(id), "rot")

    // The rerun makes the same bytes, so the same object id: it must not keep the damaged copy.
    let report = try ws.run("p.yaml", executor: FakeExecutor(), options: RunOptions(jobs: 2, cores: 2, force: ["b"]))
    #expect(report.succeeded)
    #expect(try Digest.sha256Hex(file: ws.store.objectPath(id)) == id)
    #expect(ws.store.verify().corrupt.isEmpty)
}

@Test func gcListsAndDeletesOnlyWhatNoCurrentRunReferences() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    try ws.run("p.yaml", sets: ["a.n=2"], executor: FakeExecutor())
    try ws.run("p.yaml", executor: FakeExecutor())
    let live = try ws.engine("p.yaml").liveRunKeys()
    #expect(live.count == 4)
    let dry = ws.store.collectGarbage(live: live, apply: false)
    // The a.n=2 runs of a, b, c, d made different bytes: 4 runs and 4 objects are garbage.
    #expect(dry.runs.count == 4 && dry.objects.count == 4)
    #expect(ws.store.allObjects().count == 8)
    _ = ws.store.collectGarbage(live: live, apply: true)
    #expect(ws.store.allObjects().count == 4)
    #expect(try ws.engine("p.yaml").states().allSatisfy { $0.state.isFresh })
}

@Test func gcKeepsTheRunsEachPipelineWasLastRunWithOverridesIncluded() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    try ws.run("p.yaml", sets: ["a.n=2"], executor: FakeExecutor())
    // The file as written was never run, so none of its units is fresh: only the last runs keep the work.
    #expect(try ws.engine("p.yaml").liveRunKeys().isEmpty)
    #expect(ws.store.lastRunKeys() == Set(ws.store.allRunKeys()))
    let kept = ws.store.collectGarbage(live: ws.store.lastRunKeys(), apply: true)
    #expect(kept.runs.isEmpty && kept.objects.isEmpty)
    #expect(try ws.engine("p.yaml", sets: ["a.n=2"]).states().allSatisfy { $0.state.isFresh })

    // Run as written: those are now the last runs, and the a.n=2 runs are garbage.
    try ws.run("p.yaml", executor: FakeExecutor())
    #expect(ws.store.lastRunKeys() == (try ws.engine("p.yaml").liveRunKeys()))
    #expect(ws.store.collectGarbage(live: ws.store.lastRunKeys(), apply: false).runs.count == 4)
}

@Test func progressLinesAreParsedAndOthersIgnored() {
    #expect(parseProgressLine("progress 3 10")! == (3, 10))
    #expect(parseProgressLine("progress 3") == nil)
    #expect(parseProgressLine("reject x: bad") == nil)
    var out = ""
    let display = ProgressDisplay(isTerminal: true) { out += $0 }
    display.addJobs(2)
    display.jobStarted("decode")
    display.jobProgress("decode", done: 5, total: 10)
    display.jobFinished("decode", ok: true, seconds: 1)
    #expect(out.contains("done decode"))
    #expect(out.contains("1/2 jobs  10/10 records"))
}

@Test func dagRendersAsTextDotAndMermaid() throws {
    let ws = try Workspace()
    try write("\(ws.root)/p.yaml", chain)
    let pipeline = try ws.pipeline("p.yaml")
    #expect(pipeline.stages.map(\.name) == ["a", "b", "c", "d"])
    #expect(pipeline.render(.text).contains("b  stage-b <- a"))
    #expect(pipeline.render(.dot).contains("\"a\" -> \"b\";"))
    #expect(pipeline.render(.mermaid, fresh: ["a"]).contains("  a --> d\n"))
    #expect(pipeline.ancestors(of: "c") == ["a", "b", "c"])
    #expect(pipeline.descendants(of: "a") == ["b", "c", "d"])
}

@Test func pixelStatisticsMatchAHandComputation() {
    let samples: [UInt16] = (0..<100).map { UInt16($0 * 10) }
    let s = PixelStatistics(ImagePayload(width: 10, height: 10, bits: 12, samples: samples))
    #expect(s.min == 0 && s.max == 990)
    #expect(s.mean == 495)
    // Nearest rank: p50 is the 50th smallest value (490), p99 the 99th (980), p1 the first (0).
    #expect(s.percentiles["p50"] == 490 && s.percentiles["p99"] == 980 && s.percentiles["p1"] == 0)
}

/// A script stage that declares `n` (default 1, >= 0) and, for foreach, `fold`.
let declaringStage = """
#!/bin/sh
# mammoflow-stage-params-v1
if [ "$1" = "--describe-params" ]; then
  echo '{"contract":"mammoflow-stage-params-v1","stage":"a","params":[{"name":"n","type":"int","default":1,"minimum":0,"help":"how many"},{"name":"fold","type":"int","optional":true,"help":"fold"}]}'
  exit 0
fi
"""

@Test func aScriptThatDeclaresItsParamsHasThemCheckedAndItsDefaultsLeftOutOfTheKey() throws {
    let ws = try Workspace()
    try ws.store.createLayout()
    try write("\(ws.root)/bin/stage-a", declaringStage, executable: true)
    try write("\(ws.root)/given.yaml", "stages:\n  a: { run: stage-a, params: { n: 1 } }\n")
    try write("\(ws.root)/left-out.yaml", "stages:\n  a: { run: stage-a }\n")
    let given = try ws.engine("given.yaml"), leftOut = try ws.engine("left-out.yaml")
    #expect(given.declaredParams["a"]?.map(\.name) == ["n", "fold"])
    let key = { (engine: Engine) in engine.units(of: engine.pipeline.stages[0], inputs: [:])[0].key }
    #expect(key(given) == key(leftOut))
    #expect(key(try ws.engine("given.yaml", sets: ["a.n=2"])) != key(leftOut))
    // The answer is remembered by the executable's hash.
    #expect(try FileManager.default.contentsOfDirectory(atPath: "\(ws.cache)/state/params") == ["\(given.executableHashes["a"]!).json"])

    #expect(throws: PipelineError(file: "\(ws.root)/given.yaml", stage: "a", field: "params",
                                  reason: "unknown param 'm'; did you mean 'n'? params: n, fold")) {
        try ws.engine("given.yaml", sets: ["a.m=2"])
    }
    try write("\(ws.root)/each.yaml", "stages:\n  a: { run: stage-a, foreach: { fold: [0, -1, x] } }\n")
    #expect(throws: PipelineError.self) { try ws.engine("each.yaml") }

    try write("\(ws.root)/bin/stage-b", "#!/bin/sh\n# mammoflow-stage-params-v1\necho nonsense\n", executable: true)
    try write("\(ws.root)/broken.yaml", "stages:\n  b: { run: stage-b }\n")
    do {
        _ = try ws.engine("broken.yaml")
        Issue.record("a description that does not parse must be an error")
    } catch let error as PipelineError {
        #expect(error.field == "run" && error.reason.contains("--describe-params"), "\(error)")
    }
}

/// A relative value of a `path` param reaches the stage absolute: the job runs in a folder of the cache's, where
/// `--set ingest.path=data/rsna` would name nothing the user meant.
@Test func aRelativePathParamIsResolvedAgainstItsFileOrTheCurrentDirectory() throws {
    let ws = try Workspace()
    try ws.store.createLayout()
    try write("\(ws.root)/bin/stage-a", """
        #!/bin/sh
        # mammoflow-stage-params-v1
        if [ "$1" = "--describe-params" ]; then
          echo '{"contract":"mammoflow-stage-params-v1","stage":"a","params":[{"name":"data","type":"path","help":"a folder"},{"name":"label","type":"string","optional":true,"help":"text"}]}'
          exit 0
        fi
        """, executable: true)
    try FileManager.default.createDirectory(atPath: "\(ws.root)/pipelines", withIntermediateDirectories: true)
    try write("\(ws.root)/pipelines/p.yaml", "stages:\n  a: { run: ../bin/stage-a, params: { data: ../rsna, label: x/y } }\n")
    let params = { (sets: [String]) in try ws.engine("pipelines/p.yaml", sets: sets).pipeline.stages[0].params }
    // From the file: against the file's folder; a string param is left as it is.
    #expect(try params([])["data"] == .string("\(ws.root)/rsna"))
    #expect(try params([])["label"] == .string("x/y"))
    // From --set: against the current directory; an absolute path stays.
    let here = FileManager.default.currentDirectoryPath
    #expect(try params(["a.data=kaggle/./train"])["data"] == .string("\(here)/kaggle/train"))
    #expect(try params(["a.data=/data/rsna"])["data"] == .string("/data/rsna"))
}
