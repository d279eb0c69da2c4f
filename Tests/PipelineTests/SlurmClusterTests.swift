#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Pipeline
import Shards
import StageTesting
import Testing

/// The repository's root (scripts/ is there).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Installs Slurm when it is missing and this is root (scripts/install-slurm.sh); skips the test, saying why,
/// where it cannot be installed or started (slurmd and munged need root).
func requireSlurm() throws {
    if getuid() != 0 { try Test.cancel("skipped: a one-node Slurm cluster is installed and started as root, and this is not root") }
    let installed = try runProcess("\(packageRoot)/scripts/install-slurm.sh", [])
    switch installed.status {
    case 0: return
    case 2, 3: try Test.cancel("skipped: Slurm cannot be installed here (\(installed.output.trimmingCharacters(in: .whitespacesAndNewlines)))")
    default: Issue.record("scripts/install-slurm.sh failed (\(installed.status)): \(installed.output)")
    }
}

/// The real thing: Debian's Slurm started as a one-node cluster by scripts/slurm-one-node.sh, the real
/// `mammoflow` and stage executables. A tiny synthetic cohort and its decode in two slices run through
/// `--executor slurm`, and the artifacts must be the local run's bytes (equal content ids). Then a mixed
/// history: synth run locally, decode on Slurm, in one cache.
@Test func aSlicedStageOnARealOneNodeSlurmGivesTheLocalRunsBytes() throws {
    let products = try #require(builtProductsDirectory(), "build the package first: the mammoflow binary was not found")
    try requireSlurm()
    let root = try scratch()
    // Short: munged's socket path must fit in a Unix socket address (108 bytes).
    let cluster = "/tmp/mf-slurm-\(UUID().uuidString.prefix(8))"
    let script = "\(packageRoot)/scripts/slurm-one-node.sh"
    let started = try runProcess(script, ["start", cluster])
    defer { _ = try? runProcess(script, ["stop", cluster]) }
    try #require(started.status == 0, "the one-node cluster did not start: \(started.output)")

    try write("\(root)/p.yaml", """
    executor: { kind: local }
    stages:
      synth:  { run: mammoflow-synth, params: { patients: 2, seed: 3, scale: 0.05, prevalence: 0.5 } }
      decode: { run: mammoflow-decode, deps: [synth], params: { values: window16, reduce: 0, voi: 0 }, slices: 2,
                resources: { cpus: 1, mem: 500M, time: "5:00" } }
    """)
    func mammoflow(_ arguments: [String], cache: String) throws -> String {
        let ran = try runProcess("/usr/bin/env", ["SLURM_CONF=\(cluster)/slurm.conf", "\(products)/mammoflow"] + arguments + ["--cache", "\(root)/\(cache)"], cwd: root)
        #expect(ran.status == 0, "mammoflow \(arguments.joined(separator: " ")): \(ran.output)")
        return ran.output
    }
    func ids(_ cache: String) throws -> [String: String] {
        try contentIDs(Engine(pipeline: Pipeline(PipelineLoader.load("\(root)/p.yaml"), resolver: ExecutableResolver(besideDirectories: [products])),
                              store: Store(root: "\(root)/\(cache)")))
    }

    _ = try mammoflow(["run", "p.yaml"], cache: "local")
    let onSlurm = try mammoflow(["run", "p.yaml", "--executor", "slurm"], cache: "slurm")
    #expect(onSlurm.contains("done decode#2/2"))
    #expect(onSlurm.contains("ran 2, fresh 0, failed 0"))
    let local = try ids("local")
    #expect(local.keys.sorted() == ["decode", "synth"])
    #expect(try ids("slurm") == local)
    // Each slice was its own Slurm job: its log names it.
    let logs = try FileManager.default.contentsOfDirectory(atPath: "\(root)/slurm/logs").filter { $0.hasSuffix(".1.log") }
    #expect(try logs.map { try String(contentsOfFile: "\(root)/slurm/logs/\($0)", encoding: .utf8) }.contains { $0.hasPrefix("slurm: submitted as job ") })

    _ = try mammoflow(["run", "p.yaml", "--until", "synth"], cache: "mixed")
    let mixed = try mammoflow(["run", "p.yaml", "--executor", "slurm"], cache: "mixed")
    #expect(mixed.contains("ran 1, fresh 1, failed 0"))
    #expect(try ids("mixed") == local)
}
