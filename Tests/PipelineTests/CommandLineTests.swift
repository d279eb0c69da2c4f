#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Pipeline
import Shards
import StageTesting
import Testing

/// End-to-end tests of the `mammoflow` binary with shell-script stages: real processes, a real lock.
struct CLIWorkspace {
    let root: String
    let mammoflow: String

    init(_ name: String = #function) throws {
        let products = try #require(builtProductsDirectory(), "build the package first: the mammoflow binary was not found")
        mammoflow = "\(products)/mammoflow"
        root = try scratch(name)
        try write("\(root)/stages/shell-stage", shellStage(workspace: root), executable: true)
        try write("\(root)/p.yaml", """
        stages:
          a: { run: ./stages/shell-stage, params: { n: 1 } }
          b: { run: ./stages/shell-stage, deps: [a], params: { hold: true } }
          c: { run: ./stages/shell-stage, deps: [b] }
        """)
    }

    func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mammoflow)
        process.arguments = arguments + ["--cache", "\(root)/cache"]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    func run(_ arguments: [String]) throws -> ProcessOutput {
        try runProcess(mammoflow, arguments + ["--cache", "\(root)/cache"], cwd: root)
    }

    var runsLog: [String] {
        ((try? String(contentsOfFile: "\(root)/runs.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits until `condition` holds (at most 20 s).
    func waitFor(_ what: String, _ condition: () -> Bool) throws {
        for _ in 0..<400 where !condition() { usleep(50_000) }
        try #require(condition(), "timed out waiting for \(what)")
    }
}

@Test func killDashNineInTheMiddleOfAStageLeavesAValidStoreAndTheRerunCompletes() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/hold", "")
    let (scheduler, _) = try ws.start(["run", "p.yaml"])
    try ws.waitFor("stage b to start") { ws.runsLog == ["a", "b"] }
    kill(scheduler.processIdentifier, SIGKILL)
    scheduler.waitUntilExit()
    try FileManager.default.removeItem(atPath: "\(ws.root)/hold")  // lets the orphaned stage finish on its own

    let status = try ws.run(["status", "p.yaml"])
    #expect(status.output.contains("fresh  a"))
    #expect(status.output.contains("stale  b  never run"))
    #expect(try ws.run(["verify"]).status == 0)

    let rerun = try ws.run(["run", "p.yaml"])
    #expect(rerun.status == 0, "\(rerun.output)")
    #expect(ws.runsLog.suffix(2) == ["b", "c"])
    #expect(try ws.run(["status", "p.yaml"]).output.split(separator: "\n").allSatisfy { $0.hasPrefix("fresh") })
}

@Test func twoConcurrentRunsOnOneCacheDoTheWorkOnceAndTheSecondSaysWhoItWaitsFor() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/hold", "")
    let (first, firstOut) = try ws.start(["run", "p.yaml"])
    try ws.waitFor("the first run to hold the lock") { ws.runsLog.contains("b") }
    let (second, secondOut) = try ws.start(["run", "p.yaml"])
    usleep(500_000)
    try FileManager.default.removeItem(atPath: "\(ws.root)/hold")
    first.waitUntilExit()
    second.waitUntilExit()
    let secondText = String(decoding: secondOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    _ = firstOut.fileHandleForReading.readDataToEndOfFile()
    #expect(first.terminationStatus == 0)
    #expect(second.terminationStatus == 0, "\(secondText)")
    #expect(secondText.contains("is locked by pid \(first.processIdentifier)"), "\(secondText)")
    #expect(secondText.contains("ran 0, fresh 3"), "\(secondText)")
    #expect(ws.runsLog == ["a", "b", "c"])
}

@Test func aFailingShellStagePrintsTheTailOfItsLogAndExitsNonZero() throws {
    let ws = try CLIWorkspace()
    let result = try ws.run(["run", "p.yaml", "--set", "b.fail=true", "--set", "b.hold=false"])
    #expect(result.status == 1)
    #expect(result.output.contains("stage b failed"))
    #expect(result.output.contains("stage b: cannot go on"))
    #expect(result.output.contains("not run because a dependency failed: c"))
    let why = try ws.run(["why", "c", "p.yaml", "--set", "b.hold=false"])
    #expect(why.output.contains("upstream b is stale"))
}

@Test func ingestListsADatasetOutsideTheStoreAndNoticesChanges() throws {
    let ws = try CLIWorkspace()
    let data = "\(ws.root)/rsna"
    // Three rows of the real RSNA table, for patients whose files we create (one is missing on purpose).
    try write("\(data)/train.csv", "site_id,patient_id,image_id,laterality,view\n2,10006,462822612,L,CC\n2,10006,1459541791,L,MLO\n2,10011,220375232,L,CC\n")
    try write("\(data)/train_images/10006/462822612.dcm", "dicom 1")
    try write("\(data)/train_images/10006/1459541791.dcm", "dicom 2")
    try write("\(ws.root)/rsna.yaml", "stages:\n  ingest: { run: mammoflow-ingest, params: { path: \"\" } }\n")
    let products = try #require(builtProductsDirectory())
    try #require(FileManager.default.isExecutableFile(atPath: "\(products)/mammoflow-ingest"))

    let missing = try ws.run(["run", "rsna.yaml", "--set", "ingest.path=\(ws.root)/nowhere"])
    #expect(missing.status == 1)
    #expect(missing.output.contains("dataset folder \(ws.root)/nowhere does not exist"))

    let first = try ws.run(["run", "rsna.yaml", "--set", "ingest.path=\(data)"])
    #expect(first.status == 0, "\(first.output)")
    let shown = try ws.run(["show", "ingest", "rsna.yaml", "--set", "ingest.path=\(data)", "--json"])
    let json = try JSONValue.parse(shown.output)
    #expect(json["files"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ==
            ["train.csv", "train_images/10006/1459541791.dcm", "train_images/10006/462822612.dcm"])
    #expect(json["files"]?.arrayValue?[1]["sha256"]?.stringValue == Digest.sha256Hex("dicom 2"))
    #expect(json["rejects"]?.arrayValue?.first?["key"] == "10011/220375232")
    #expect(json["records"] == 2)
    // Nothing of the dataset was copied into the store.
    #expect(Store(root: "\(ws.root)/cache").allObjects().isEmpty)

    #expect(try ws.run(["status", "rsna.yaml", "--set", "ingest.path=\(data)"]).output.hasPrefix("fresh"))
    usleep(20_000)
    try write("\(data)/train_images/10011/220375232.dcm", "dicom 3")
    let stale = try ws.run(["status", "rsna.yaml", "--set", "ingest.path=\(data)"])
    #expect(stale.output.contains("stale  ingest  source folder \(data)/train_images changed"), "\(stale.output)")
    #expect(try ws.run(["run", "rsna.yaml", "--set", "ingest.path=\(data)"]).status == 0)
    #expect(try ws.run(["status", "rsna.yaml", "--set", "ingest.path=\(data)"]).output.hasPrefix("fresh"))

    // A forced rerun (every hash from the stat cache now) leaves the same manifest, byte for byte.
    let before = try ws.run(["show", "ingest", "rsna.yaml", "--set", "ingest.path=\(data)", "--json"]).output
    #expect(try ws.run(["run", "rsna.yaml", "--force", "ingest", "--set", "ingest.path=\(data)"]).status == 0)
    #expect(try ws.run(["show", "ingest", "rsna.yaml", "--set", "ingest.path=\(data)", "--json"]).output == before)
    // A change of the ctime alone (same bytes, size and mtime) counts as a change.
    chmod("\(data)/train.csv", 0o600)
    let touched = try ws.run(["status", "rsna.yaml", "--set", "ingest.path=\(data)"])
    #expect(touched.output.contains("source file \(data)/train.csv changed"), "\(touched.output)")
}

@Test func gcKeepsRunsMadeWithSetAndSurvivesAPipelineThatDoesNotParse() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/pipelines/good.yaml", "stages:\n  a: { run: ../stages/shell-stage, params: { n: 1 } }\n")
    try write("\(ws.root)/pipelines/broken.yaml", "stages:\n  a: { run: [unclosed\n")
    #expect(try ws.run(["run", "pipelines/good.yaml", "--set", "a.n=7"]).status == 0)

    let gc = try ws.run(["gc", "--apply"])
    #expect(gc.status == 0, "\(gc.output)")
    #expect(gc.output.contains("warning: ") && gc.output.contains("broken.yaml"), "\(gc.output)")
    #expect(gc.output.contains("deleted 0 runs and 0 objects"), "\(gc.output)")
    let status = try ws.run(["status", "pipelines/good.yaml", "--set", "a.n=7"])
    #expect(status.output.hasPrefix("fresh  a"), "\(status.output)")
}

/// A two-patient synthetic cohort decoded: real stage executables, a few seconds.
private let smallCohort = """
stages:
  synth:  { run: mammoflow-synth, params: { patients: 2, scale: 0.05 } }
  decode: { run: mammoflow-decode, deps: [synth] }
"""

@Test func aDamagedInputObjectFailsTheJobUntilVerifyQuarantinesItAndRunRebuildsIt() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/small.yaml", smallCohort)
    #expect(try ws.run(["run", "small.yaml"]).status == 0)
    let synth = try JSONValue.parse(try ws.run(["show", "synth", "small.yaml", "--json"]).output)
    let image = try #require(synth["files"]?.arrayValue?.first { $0["path"]?.stringValue?.hasSuffix(".dcm") == true })
    let object = Store(root: "\(ws.root)/cache").objectPath(try #require(image["sha256"]?.stringValue))
    chmod(object, 0o644)
    var bytes = try readFile(object)
    bytes[bytes.count / 2] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: object))

    let failed = try ws.run(["run", "small.yaml", "--force", "decode"])
    #expect(failed.status == 1)
    #expect(failed.output.contains("input \(object) failed its integrity check") && failed.output.contains("mammoflow verify"), "\(failed.output)")
    #expect(try ws.run(["verify"]).output.contains("stale now: synth"))
    #expect(try ws.run(["run", "small.yaml"]).status == 0)
    let status = try ws.run(["status", "small.yaml"]).output
    #expect(status.contains("fresh  synth") && status.contains("fresh  decode  8 records"), "\(status)")
}

@Test func paramsAreCheckedAgainstTheStagesDeclarationsBeforeAnythingRuns() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/small.yaml", smallCohort)
    let misspelt = try ws.run(["run", "small.yaml", "--set", "synth.patient=20"])
    #expect(misspelt.status == 1)
    #expect(misspelt.output.contains("stage 'synth', field 'params': unknown param 'patient'; did you mean 'patients'?"), "\(misspelt.output)")
    #expect(try ws.run(["run", "small.yaml", "--set", "synth.patients="]).output.contains("param 'patients' is empty"))
    #expect(try ws.run(["status", "small.yaml", "--set", "decode.reduce=9"]).output.contains("param 'reduce' must be a whole number from 0 to 8"))
    #expect(ws.runsLog.isEmpty && !FileManager.default.fileExists(atPath: "\(ws.root)/cache/runs"), "nothing ran")

    let listed = try ws.run(["params", "synth", "small.yaml", "--set", "synth.patient=20"])
    #expect(listed.status == 1 && listed.output.contains("patients    a whole number >= 1; default 200"), "\(listed.output)")
    // A param equal to its declared default leaves the key as it is: nothing reruns.
    #expect(try ws.run(["run", "small.yaml"]).status == 0)
    let same = try ws.run(["run", "small.yaml", "--set", "decode.voi=0", "--set", "decode.values=window16"])
    #expect(same.output.contains("ran 0, fresh 2"), "\(same.output)")
    // A window a file does not have fails decode rather than quietly using another.
    let voi = try ws.run(["run", "small.yaml", "--set", "decode.voi=3"])
    #expect(voi.status == 1 && voi.output.contains("param voi=3, but train_images/"), "\(voi.output)")
}

@Test func aStageThatDeclaresNothingIsNotCheckedNorAskedToDescribeItself() throws {
    let ws = try CLIWorkspace()
    // The train stage declares its params (rung-dependent ones without a default): a misspelt one is refused.
    try write("\(ws.root)/t.yaml", "stages:\n  train: { run: mammoflow-train, foreach: { fold: [0] }, params: { epoch: 1 } }\n")
    let train = try ws.run(["status", "t.yaml"])
    #expect(train.status == 1 && train.output.contains("did you mean 'epochs'?"), "\(train.output)")
    // The shell stage appends to runs.log whenever it runs: it must not be run at planning.
    let result = try ws.run(["run", "p.yaml", "--set", "a.anything=1", "--set", "b.hold=false"])
    #expect(result.status == 0, "\(result.output)")
    #expect(ws.runsLog == ["a", "b", "c"])
}

@Test func rejectsAreCountedOnceUnderOneKeyAndListedWhereRunSays() throws {
    let ws = try CLIWorkspace()
    let data = "\(ws.root)/data"
    #expect(try runProcess(ws.mammoflow, ["synth", "--out", data, "--patients", "3", "--scale", "0.05"]).status == 0)
    // Row 1: cancer=maybe, row 2: age=sixty (label and clinical cells), row 3: its file missing.
    // RSNA's tables end their lines with CR LF (one Character in Swift), as synth writes them.
    var lines = try String(contentsOfFile: "\(data)/train.csv", encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    let header = lines[0]
    lines[1][header.firstIndex(of: "cancer")!] = "maybe"
    lines[2][header.firstIndex(of: "age")!] = "sixty"
    try write("\(data)/train.csv", lines.map { $0.joined(separator: ",") }.joined(separator: "\r\n") + "\r\n")
    let key = { (row: [String]) in "\(row[header.firstIndex(of: "patient_id")!])/\(row[header.firstIndex(of: "image_id")!])" }
    try FileManager.default.removeItem(atPath: "\(data)/train_images/\(key(lines[3])).dcm")
    try write("\(ws.root)/ing.yaml", """
    stages:
      ingest: { run: mammoflow-ingest, params: { path: "" } }
      decode: { run: mammoflow-decode, deps: [ingest] }
      folds:  { run: mammoflow-folds, deps: [ingest], params: { k: 2 } }
    """)

    let run = try ws.run(["run", "ing.yaml", "--set", "ingest.path=\(data)"])
    #expect(run.status == 0, "\(run.output)")
    // The missing file is ingest's reject; the bad label and clinical cells are found by folds, the first
    // stage that uses them: decode's records hold no such cell, so it decodes those images.
    #expect(run.output.contains("ingest: 1 reject; list: mammoflow show ingest ing.yaml --set ingest.path=\(data) --cache \(ws.root)/cache --rejects"), "\(run.output)")
    #expect(run.output.contains("folds: 2 rejects; list: mammoflow show folds "), "\(run.output)")
    #expect(!run.output.split(separator: "\n").contains { $0.hasPrefix("decode: ") && $0.contains("reject") },
            "decode adds no reject of its own: \(run.output)")
    let listed = try ws.run(["show", "folds", "ing.yaml", "--set", "ingest.path=\(data)", "--rejects"]).output
        .split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
    #expect(listed.count == 3 && Set(listed.map { $0[0] }) == [key(lines[1]), key(lines[2]), key(lines[3])], "\(listed)")
    let byKey = Dictionary(listed.map { ($0[0], (stage: $0[1], reason: $0[2])) }, uniquingKeysWith: { a, _ in a })
    #expect(byKey[key(lines[3])]?.stage == "ingest" && byKey[key(lines[3])]?.reason == "listed in train.csv but missing")
    #expect(byKey[key(lines[1])]?.stage == "folds" && byKey[key(lines[1])]?.reason.hasSuffix("train.csv line 2: column cancer: \"maybe\" is not 0 or 1") == true)
    #expect(byKey[key(lines[2])]?.stage == "folds" && byKey[key(lines[2])]?.reason.hasSuffix("train.csv line 3: column age: \"sixty\" is not a number of years or empty") == true)
    let status = try ws.run(["status", "ing.yaml", "--set", "ingest.path=\(data)"]).output
    let images = lines.count - 1
    #expect(status.contains("fresh  decode  \(images - 1) records, 1 files, 1 rejects"), "\(status)")
    #expect(status.contains("fresh  folds   \(images - 3) records"), "the bad rows do not reach folds: \(status)")
}

@Test func commandsOnACacheThatDoesNotExistSaySoAndCreateNothing() throws {
    let ws = try CLIWorkspace()
    let missing = "\(ws.root)/no-such-cache"
    let verify = try runProcess(ws.mammoflow, ["verify", "--cache", missing], cwd: ws.root)
    #expect(verify.status == 1 && verify.output.contains("there is no cache at \(missing)"), "\(verify.output)")
    for command in [["status", "p.yaml"], ["dag", "p.yaml"]] {
        let result = try runProcess(ws.mammoflow, command + ["--cache", missing], cwd: ws.root)
        #expect(result.output.contains("note: there is no cache at \(missing)"), "\(result.output)")
    }
    #expect(!FileManager.default.fileExists(atPath: missing))
}

@Test func hintsKeepTheUsersSetAndCacheAndAStageWithoutTheExecuteBitIsNamed() throws {
    let ws = try CLIWorkspace()
    let show = try ws.run(["show", "b", "p.yaml", "--set", "a.n=2"])
    #expect(show.output.contains("mammoflow run p.yaml --set a.n=2 --cache \(ws.root)/cache --until b"), "\(show.output)")
    try write("\(ws.root)/stages/plain", "#!/bin/sh\n")
    try write("\(ws.root)/q.yaml", "stages:\n  a: { run: ./stages/plain }\n")
    let status = try ws.run(["status", "q.yaml"])
    #expect(status.status == 1)
    #expect(status.output.contains("\(ws.root)/stages/plain exists but is not executable"), "\(status.output)")
}

@Test func everyCommandHasHelp() throws {
    let ws = try CLIWorkspace()
    let top = try ws.run(["--help"])
    for command in ["run", "status", "why", "dag", "show", "verify", "gc"] {
        #expect(top.output.contains("  \(command)"), "\(command) missing from mammoflow --help")
    }
    let run = try runProcess(ws.mammoflow, ["run", "--help"]).output
    for option in ["--set <stage.param=value>", "-j <j>", "--until <until>", "--force <force>", "--dry-run", "--cache <cache>"] {
        #expect(run.contains(option), "run --help lacks \(option)")
    }
    #expect(try runProcess(ws.mammoflow, ["dag", "--help"]).output.contains("--format <format>"))
    #expect(try runProcess(ws.mammoflow, ["show", "--help"]).output.contains("--png <OUT.png>"))
    #expect(try runProcess(ws.mammoflow, ["gc", "--help"]).output.contains("--apply"))
    // stdout and stderr together here: the note that there is no cache yet comes first, on stderr.
    let dag = try ws.run(["dag", "p.yaml", "--format", "mermaid"])
    #expect(dag.output.contains("stale\nflowchart LR\n"), "\(dag.output)")
}

@Test func helpListsPipelineCommandsApartFromTools() throws {
    let ws = try CLIWorkspace()
    let help = try runProcess(ws.mammoflow, ["--help"]).output
    let pipeline = try #require(help.range(of: "PIPELINE SUBCOMMANDS:"), "\(help)")
    let tools = try #require(help.range(of: "TOOL SUBCOMMANDS:"), "\(help)")
    try #require(pipeline.upperBound < tools.lowerBound, "\(help)")
    let pipelineSection = help[pipeline.upperBound..<tools.lowerBound], toolSection = help[tools.upperBound...]
    for verb in ["run", "status", "why", "dag", "show", "params", "verify", "gc", "board", "metrics"] {
        #expect(pipelineSection.contains("\n  \(verb) "), "\(verb) is not listed under the pipeline commands")
    }
    for tool in ["synth", "dicom", "shard", "sheet", "folds", "score"] {
        #expect(toolSection.contains("\n  \(tool) "), "\(tool) is not listed under the tools")
    }
    #expect(!help.contains("imaging-bench"), "the bench's timing command stays out of the help")
    let shard = try runProcess(ws.mammoflow, ["shard", "--help"]).output
    for subcommand in ["info", "cat", "pack"] { #expect(shard.contains("\n  \(subcommand) "), "shard \(subcommand): \(shard)") }
    let dicom = try runProcess(ws.mammoflow, ["dicom", "--help"]).output
    for subcommand in ["info", "pixels", "time"] { #expect(dicom.contains("\n  \(subcommand) "), "dicom \(subcommand): \(dicom)") }
}

@Test func aUsageErrorShowsTheSubcommandsUsage() throws {
    let ws = try CLIWorkspace()
    // Found while parsing: a missing argument.
    let missing = try runProcess(ws.mammoflow, ["why"])
    #expect(missing.status == 64)
    #expect(missing.output.contains("Usage: mammoflow why <stage>"), "\(missing.output)")
    // Found by the command itself, in run(): a value it does not know.
    let format = try ws.run(["dag", "p.yaml", "--format", "png"])
    #expect(format.status == 64)
    #expect(format.output.contains("Error: --format must be one of text, dot, mermaid"), "\(format.output)")
    #expect(format.output.contains("Usage: mammoflow dag [<file>]"), "\(format.output)")
    #expect(format.output.contains("See 'mammoflow dag --help' for more information."), "\(format.output)")
    #expect(!format.output.contains("<subcommand>"), "the top level's usage was shown: \(format.output)")
    // A nested tool's.
    let pixels = try runProcess(ws.mammoflow, ["dicom", "pixels", "\(ws.root)/none.dcm", "-o", "\(ws.root)/out.bmp"])
    #expect(pixels.status == 64)
    #expect(pixels.output.contains("Error: -o must end in .raw, .png or .pgm"), "\(pixels.output)")
    #expect(pixels.output.contains("Usage: mammoflow dicom pixels <file>"), "\(pixels.output)")
    #expect(pixels.output.contains("See 'mammoflow dicom pixels --help'"), "\(pixels.output)")
}

@Test func sigintStopsTheRunningStageAndCommitsNothing() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/hold", "")
    let (scheduler, output) = try ws.start(["run", "p.yaml"])
    try ws.waitFor("stage b to start") { ws.runsLog == ["a", "b"] }
    kill(scheduler.processIdentifier, SIGINT)
    scheduler.waitUntilExit()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(scheduler.terminationStatus == 130, "\(text)")
    #expect(text.contains("interrupted"))
    // The stage process is gone (it would otherwise still be waiting on `hold`), nothing of it was kept.
    let store = Store(root: "\(ws.root)/cache")
    #expect(try FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory).isEmpty)
    #expect(store.allRunKeys().count == 1)
    let leftover = try runProcess("/usr/bin/pgrep", ["-f", "\(ws.root)/cache/tmp"])
    #expect(leftover.output.isEmpty, "stage processes still running: \(leftover.output)")
}
