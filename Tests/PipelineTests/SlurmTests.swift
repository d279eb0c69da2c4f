#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Pipeline
import Shards
import StageTesting
import Testing

// The Slurm executor without Slurm: the script and arguments it submits, how it reads squeue and scontrol,
// and whole runs against `SimulatedSlurm`, which runs each submitted script as a local process and answers
// the client commands as slurmctld would. SlurmClusterTests.swift runs the same against a real one-node Slurm.

func sampleJob(in root: String, environment: [String: String] = ["MAMMOFLOW_CACHE": "/c/it's here"],
               resources: StageResources = StageResources()) -> ProcessJob {
    ProcessJob(label: "decode#2/4", executable: "\(root)/bin/stage", jobFile: "\(root)/tmp/j/job.json",
               outputDirectory: "\(root)/tmp/j/out", logFile: "\(root)/logs/k.log", environment: environment, resources: resources)
}

@Test func theSubmissionAsksForTheStagesResourcesAndTheExecutorsDefaults() {
    let job = sampleJob(in: "/c", resources: StageResources(cpus: 4, mem: "8G", time: "1:00:00", gres: "gpu:1"))
    let submission = SlurmSubmission(job: job, executor: ExecutorSpec(kind: .slurm, partition: "cpu", account: "lab", options: ["--qos=high"]))
    #expect(submission.scriptPath == "/c/tmp/j/slurm.sh")
    #expect(submission.arguments == [
        "--parsable", "--job-name=mammoflow.decode_2of4", "--output=/c/tmp/j/slurm.out", "--chdir=/c/tmp/j", "--export=ALL",
        "--nodes=1", "--ntasks=1", "--cpus-per-task=4", "--mem=8G", "--time=1:00:00", "--partition=cpu", "--gres=gpu:1",
        "--account=lab", "--qos=high", "/c/tmp/j/slurm.sh",
    ])
    // A stage's partition wins over the executor's; without resources a job asks for one CPU.
    let gpu = SlurmSubmission(job: sampleJob(in: "/c", resources: StageResources(partition: "gpu")), executor: ExecutorSpec(kind: .slurm, partition: "cpu"))
    #expect(gpu.arguments.contains("--partition=gpu") && !gpu.arguments.contains("--partition=cpu"))
    #expect(gpu.arguments.contains("--cpus-per-task=1"))
    #expect(SlurmExecutor(spec: ExecutorSpec(kind: .slurm)).threads(for: job, share: 1) == 4)
}

/// The wrapper script, run by sh as a node would: the stage gets `--job <file>`, the job's directory as its
/// working directory and the job's variables (quotes and all); a job file the node cannot see stops it with
/// a message that says why.
@Test func theWrapperScriptRunsTheStageWithItsJobFileAndEnvironment() throws {
    let root = try scratch()
    try write("\(root)/bin/stage", "#!/bin/sh\necho \"args: $*\"\necho \"cwd: $(pwd)\"\necho \"cache: $MAMMOFLOW_CACHE\"\n", executable: true)
    try write("\(root)/tmp/j/job.json", "{}")
    try FileManager.default.createDirectory(atPath: "\(root)/tmp/j/out", withIntermediateDirectories: true)
    let job = sampleJob(in: root)
    let submission = SlurmSubmission(job: job, executor: ExecutorSpec(kind: .slurm))
    try write(submission.scriptPath, submission.script, executable: true)
    let ran = try runProcess("/bin/sh", [submission.scriptPath], cwd: "\(root)/tmp/j")
    #expect(ran.status == 0)
    #expect(ran.output == "args: --job \(root)/tmp/j/job.json\ncwd: \(root)/tmp/j\ncache: /c/it's here\n")

    unlink(job.jobFile)
    let missing = try runProcess("/bin/sh", [submission.scriptPath], cwd: "\(root)/tmp/j")
    #expect(missing.status == 97)
    #expect(missing.output.contains("the job file \(job.jobFile) is not there on"))
    #expect(missing.output.contains("every node mounts at the same path"))
}

@Test func slurmsAnswersAreRead() {
    #expect(parseSbatchJobID("1234\n") == "1234")
    #expect(parseSbatchJobID("1234;cluster\n") == "1234")
    #expect(parseSbatchJobID("sbatch: error: Batch job submission failed\n") == nil)

    let rows = SqueueRow.parse("12|RUNNING|None|node1\n13|PENDING|Resources|\nslurm_load_jobs error: x\n14|COMPLETED|None|node2\n")
    #expect(rows == [SqueueRow(jobID: "12", state: SlurmJobState("RUNNING"), reason: "None", nodes: "node1"),
                     SqueueRow(jobID: "13", state: SlurmJobState("PENDING"), reason: "Resources", nodes: ""),
                     SqueueRow(jobID: "14", state: SlurmJobState("COMPLETED"), reason: "None", nodes: "node2")])

    // As Slurm 22.05 printed it for a cancelled job on the one-node test cluster.
    let fields = parseScontrolJob("JobId=2 JobName=wrap UserId=root(0) JobState=CANCELLED Reason=None Dependency=(null) ExitCode=0:15 RunTime=00:00:01 NodeList=vm BatchHost=vm Command=(null) WorkDir=/tmp\n")
    #expect(fields["JobState"] == "CANCELLED")
    #expect(fields["NodeList"] == "vm")
    #expect(parseExitCode(fields["ExitCode"])! == (0, 15))
    #expect(parseExitCode("x") == nil)
}

@Test func howAJobEndedBecomesItsExitStatus() {
    func status(_ state: String, _ code: (Int32, Int32)?) -> Int32 { SlurmJobState(state).exitStatus(exitCode: code) }
    #expect(status("COMPLETED", (0, 0)) == 0)
    #expect(status("FAILED", (3, 0)) == 3)
    #expect(status("FAILED", (0, 9)) == 128 + 9)
    #expect(status("CANCELLED", (0, 15)) == 128 + 15)
    #expect(status("CANCELLED", nil) == 128 + 15)
    #expect(status("TIMEOUT", (0, 0)) == 1)
    #expect(status("OUT_OF_MEMORY", (0, 0)) == 1)
    #expect(status("NODE_FAIL", (0, 0)) == 1)
    for state in ["PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUED"] { #expect(!SlurmJobState(state).isFinal) }
    for state in ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"] { #expect(SlurmJobState(state).isFinal) }
    #expect(SlurmJobState("COMPLETED").endNote(jobID: "7", fields: [:]) == nil)
    #expect(SlurmJobState("TIMEOUT").endNote(jobID: "7", fields: ["ExitCode": "0:15", "Reason": "TimeLimit", "NodeList": "n3"])
            == "slurm: job 7 ended TIMEOUT (ExitCode 0:15), reason TimeLimit on n3: raise the stage's resources.time")
}

/// A Slurm controller in a test: `sbatch` records the job PENDING, the next `squeue` starts its script with
/// sh (stdout and stderr to `--output`, in `--chdir`) and shows it RUNNING, and once the process has exited
/// the job is COMPLETED, FAILED or (after `scancel`) CANCELLED, with scontrol's `ExitCode=S:G`.
final class SimulatedSlurm: @unchecked Sendable {
    final class Job {
        let arguments: [String]
        var state = "PENDING"
        var process: Process?
        var exitCode = "0:0"
        init(arguments: [String]) { self.arguments = arguments }
    }

    /// When set, `sbatch` refuses every job with this message, as it does an unknown partition.
    var rejection: String?
    private let lock = NSLock()
    private var jobs: [Int: Job] = [:]
    private var nextID = 100
    private(set) var commands: [String] = []

    var submitted: [[String]] {
        lock.lock(); defer { lock.unlock() }
        return jobs.keys.sorted().map { jobs[$0]!.arguments }
    }

    func run(_ tool: String, _ arguments: [String]) -> CommandOutput {
        lock.lock(); defer { lock.unlock() }
        commands.append(tool)
        switch tool {
        case "sbatch":
            if let rejection { return CommandOutput(status: 1, stdout: "", stderr: rejection + "\n") }
            nextID += 1
            jobs[nextID] = Job(arguments: arguments)
            return CommandOutput(status: 0, stdout: "\(nextID)\n", stderr: "")
        case "squeue":
            let ids = arguments.first { $0.hasPrefix("--jobs=") }!.dropFirst(7).split(separator: ",").compactMap { Int($0) }
            var rows: [String] = []
            for id in ids {
                guard let job = jobs[id] else { continue }
                if job.state == "PENDING" { start(job) }
                update(job)
                rows.append("\(id)|\(job.state)|None|sim")
            }
            return rows.isEmpty && !ids.isEmpty
                ? CommandOutput(status: 1, stdout: "", stderr: "slurm_load_jobs error: Invalid job id specified\n")
                : CommandOutput(status: 0, stdout: rows.map { $0 + "\n" }.joined(), stderr: "")
        case "scontrol":
            guard let id = Int(arguments.last!), let job = jobs[id] else {
                return CommandOutput(status: 1, stdout: "", stderr: "slurm_load_jobs error: Invalid job id specified\n")
            }
            update(job)
            return CommandOutput(status: 0, stdout: "JobId=\(id) JobState=\(job.state) Reason=None ExitCode=\(job.exitCode) NodeList=sim\n", stderr: "")
        case "scancel":
            for id in arguments.compactMap(Int.init) {
                guard let job = jobs[id] else { continue }
                if let process = job.process, process.isRunning { process.terminate() }
                if job.state == "PENDING" { job.state = "CANCELLED"; job.exitCode = "0:0" }
            }
            return CommandOutput(status: 0, stdout: "", stderr: "")
        default:
            return CommandOutput(status: 127, stdout: "", stderr: "\(tool): not simulated")
        }
    }

    private func start(_ job: Job) {
        func option(_ name: String) -> String { String(job.arguments.first { $0.hasPrefix("--\(name)=") }!.dropFirst(name.count + 3)) }
        let output = option("output")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [job.arguments.last!]
        process.currentDirectoryURL = URL(fileURLWithPath: option("chdir"))
        let handle = FileHandle(forWritingAtPath: output)!
        process.standardOutput = handle
        process.standardError = handle
        job.state = "RUNNING"
        do { try process.run() } catch { job.state = "FAILED"; job.exitCode = "127:0" }
        job.process = process
    }

    private func update(_ job: Job) {
        guard job.state == "RUNNING", let process = job.process, !process.isRunning else { return }
        if process.terminationReason == .uncaughtSignal {
            job.state = "CANCELLED"
            job.exitCode = "0:\(process.terminationStatus)"
        } else {
            job.state = process.terminationStatus == 0 ? "COMPLETED" : "FAILED"
            job.exitCode = "\(process.terminationStatus):0"
        }
    }
}

/// The content id of every fresh stage of a pipeline over a cache.
func contentIDs(_ engine: Engine) -> [String: String] {
    var ids: [String: String] = [:]
    for (stage, state) in engine.states() {
        if case .fresh(let artifact, _) = state { ids[stage.name] = artifact.contentID }
    }
    return ids
}

/// A pipeline of shell-script stages (`shellStage`), the second one sliced: each slice writes a file of its
/// own, so the merged artifact depends on every slice having run with its own job file.
func slicedShellPipeline(_ root: String) throws {
    try write("\(root)/stages/shell-stage", shellStage(workspace: root), executable: true)
    try write("\(root)/stages/slice-stage", """
    #!/bin/sh
    set -e
    job="$2"
    out=$(sed -n 's/.*"output":"\\([^"]*\\)".*/\\1/p' "$job")
    index=$(sed -n 's/.*"slice":{"count":[0-9]*,"index":\\([0-9]*\\)}.*/\\1/p' "$job")
    threads=$(sed -n 's/.*"threads":\\([0-9]*\\).*/\\1/p' "$job")
    echo "progress 0 1" >&2
    { echo "slice $index"; for loc in $(grep -o '"location":"[^"]*"' "$job" | sed 's/"location":"\\(.*\\)"/\\1/'); do cat "$loc"; done; } > "$out/part-$index.txt"
    echo "slice $index: $threads threads" >> "\(root)/threads.log"
    sha=$(sha256sum "$out/part-$index.txt" | cut -d' ' -f1)
    size=$(wc -c < "$out/part-$index.txt")
    echo "progress 1 1" >&2
    printf '{"files":[{"path":"part-%s.txt","sha256":"%s","size":%s}],"records":1,"rejects":[],"schema":1,"stage":"b","summary":{}}' "$index" "$sha" "$size" > "$out/manifest.json"
    """, executable: true)
    try write("\(root)/p.yaml", """
    stages:
      a: { run: ./stages/shell-stage, params: { n: 1 } }
      b: { run: ./stages/slice-stage, deps: [a], slices: 2, resources: { cpus: 3, mem: 100M } }
    """)
}

@Test func aSlurmRunCommitsTheSameArtifactsAsALocalRunAndReportsJobStates() throws {
    let root = try scratch()
    try slicedShellPipeline(root)
    let resolver = ExecutableResolver(besideDirectories: [], searchPath: [])
    func engine(_ cache: String) throws -> Engine {
        try Engine(pipeline: Pipeline(PipelineLoader.load("\(root)/p.yaml"), resolver: resolver), store: Store(root: "\(root)/\(cache)"))
    }
    let quiet = ProgressDisplay(isTerminal: false, write: { _ in })
    let local = try Scheduler(engine: engine("local"), executor: ProcessExecutor(), options: RunOptions(jobs: 2, cores: 2), display: quiet).run()
    #expect(local.succeeded, "\(local.failed)")

    let slurm = SimulatedSlurm()
    final class StateLog: @unchecked Sendable {
        let lock = NSLock()
        var seen: [String: [String]] = [:]
    }
    let states = StateLog()
    let executor = SlurmExecutor(spec: ExecutorSpec(kind: .slurm, partition: "sim"), pollInterval: 0.02, runCommand: { slurm.run($0, $1) }) { label, state in
        states.lock.lock(); states.seen[label, default: []].append(state); states.lock.unlock()
    }
    let remote = try Scheduler(engine: engine("slurm"), executor: executor, options: RunOptions(jobs: 8, cores: 2), display: quiet).run()
    #expect(remote.succeeded, "\(remote.failed)")
    #expect(remote.ran == ["a", "b"])
    let ids = try contentIDs(engine("local"))
    #expect(ids.count == 2)
    #expect(try contentIDs(engine("slurm")) == ids)

    // One job for `a`, one per slice of `b`, each with the stage's resources; `b`'s slices ran with the three
    // CPUs they asked for as their thread budget.
    #expect(slurm.submitted.count == 3)
    #expect(slurm.submitted.filter { $0.contains("--cpus-per-task=3") && $0.contains("--mem=100M") && $0.contains("--partition=sim") }.count == 2)
    let threads = try String(contentsOfFile: "\(root)/threads.log", encoding: .utf8).split(separator: "\n").suffix(2).sorted()
    #expect(threads == ["slice 0: 3 threads", "slice 1: 3 threads"])
    let store = Store(root: "\(root)/slurm")
    let record = try #require(store.allRunKeys().compactMap(store.readRun).first { $0.stage == "b" })
    // The simulated controller starts a job at the first squeue: the progress line saw it RUNNING.
    #expect(states.seen["b#1/2"] == ["RUNNING"])
    // The job's output reached its log, after the line naming the Slurm job.
    let log = try String(contentsOfFile: "\(root)/slurm/logs/\(record.key).1.log", encoding: .utf8)
    #expect(log.hasPrefix("slurm: submitted as job "))
    #expect(log.contains("progress 1 1"))
}

@Test func aFailedSlurmJobFailsItsStageWithTheTailOfItsLog() throws {
    let ws = try CLIWorkspace()
    let slurm = SimulatedSlurm()
    let executor = SlurmExecutor(spec: ExecutorSpec(kind: .slurm), pollInterval: 0.02, runCommand: { slurm.run($0, $1) })
    let engine = try Engine(pipeline: Pipeline(PipelineLoader.load("\(ws.root)/p.yaml", sets: ["a.fail=true"]),
                                               resolver: ExecutableResolver(besideDirectories: [], searchPath: [])),
                            store: Store(root: "\(ws.root)/cache"))
    let report = Scheduler(engine: engine, executor: executor, options: RunOptions(jobs: 2, cores: 2),
                           display: ProgressDisplay(isTerminal: false, write: { _ in })).run()
    #expect(report.failed.keys.sorted() == ["a"])
    #expect(report.blocked.sorted() == ["b", "c"])
    let failure = try #require(report.failed["a"])
    #expect(failure.contains("exit status 3"))
    #expect(failure.contains("stage a: cannot go on"))
    #expect(failure.contains("slurm: job 101 ended FAILED (ExitCode 3:0) on sim"))
    #expect(Store(root: "\(ws.root)/cache").allRunKeys().isEmpty)
}

@Test func cancellingASlurmRunCancelsItsJobsAndCommitsNothing() throws {
    let ws = try CLIWorkspace()
    try write("\(ws.root)/hold", "")
    let slurm = SimulatedSlurm()
    let executor = SlurmExecutor(spec: ExecutorSpec(kind: .slurm), pollInterval: 0.02, runCommand: { slurm.run($0, $1) })
    let engine = try Engine(pipeline: Pipeline(PipelineLoader.load("\(ws.root)/p.yaml"), resolver: ExecutableResolver(besideDirectories: [], searchPath: [])),
                            store: Store(root: "\(ws.root)/cache"))
    let scheduler = Scheduler(engine: engine, executor: executor, options: RunOptions(jobs: 2, cores: 2),
                              display: ProgressDisplay(isTerminal: false, write: { _ in }))
    final class Outcome: @unchecked Sendable { var report: RunReport? }
    let outcome = Outcome()
    let finished = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        outcome.report = scheduler.run()
        finished.signal()
    }
    try ws.waitFor("stage b to start on the simulated cluster") { ws.runsLog == ["a", "b"] }
    scheduler.cancel()
    #expect(finished.wait(timeout: .now() + 20) == .success)
    #expect(outcome.report?.interrupted == true)
    #expect(slurm.commands.contains("scancel"))
    // a was committed before the interrupt; b was not, and c never started.
    #expect(Store(root: "\(ws.root)/cache").allRunKeys().count == 1)
    #expect(ws.runsLog == ["a", "b"])
}

@Test func theCachesMountSaysWhetherOtherNodesCanShareIt() throws {
    let mounts = """
    /dev/vda / ext4 rw,relatime 0 0
    tmpfs /tmp tmpfs rw,nosuid 0 0
    server:/export/lab /shared nfs4 rw,vers=4.2,hard,proto=tcp,local_lock=none 0 0
    server:/export/old /shared/old\\040disk nfs rw,vers=3,nolock 0 0
    lustre@o2ib:/scratch /scratch lustre rw,flock 0 0
    """
    #expect(MountEntry.containing("/home/me/cache", mounts: mounts)?.type == "ext4")
    #expect(MountEntry.containing("/tmpfoo/cache", mounts: mounts)?.mountPoint == "/")
    #expect(MountEntry.containing("/shared/old disk/cache", mounts: mounts)?.mountPoint == "/shared/old disk")
    let nfs = try #require(MountEntry.containing("/shared/cache", mounts: mounts))
    #expect(nfs.type == "nfs4" && nfs.sharedCacheWarnings(cache: "c").isEmpty)
    #expect(MountEntry.containing("/scratch/c", mounts: mounts)!.sharedCacheWarnings(cache: "c").isEmpty)
    let local = MountEntry.containing("/tmp/c", mounts: mounts)!.sharedCacheWarnings(cache: "c")
    #expect(local.count == 1 && local[0].contains("on tmpfs (/tmp), a file system of this machine only"))
    let noLock = MountEntry.containing("/shared/old disk/c", mounts: mounts)!.sharedCacheWarnings(cache: "c")
    #expect(noLock.count == 1 && noLock[0].contains("mounted with nolock"))
}

@Test func theProgressLineShowsABatchJobsState() {
    final class Written: @unchecked Sendable { var text = "" }
    let written = Written()
    let display = ProgressDisplay(isTerminal: false, write: { written.text += $0 })
    display.addJobs(2)
    display.jobStarted("decode#1/2")
    display.jobStarted("decode#2/2")
    display.jobState("decode#1/2", "PENDING")
    #expect(display.runningText() == "decode#1/2:PENDING decode#2/2")
    display.jobState("decode#1/2", "RUNNING")
    display.jobFinished("decode#1/2", ok: true, seconds: 1)
    display.jobState("decode#1/2", "COMPLETING")   // after its end: ignored
    #expect(display.runningText() == "decode#2/2")
    #expect(written.text.split(separator: "\n").prefix(4) == ["start decode#1/2", "start decode#2/2", "pending decode#1/2", "running decode#1/2"])
}

@Test func aJobSbatchRefusesFailsWithSbatchsMessage() throws {
    let ws = try CLIWorkspace()
    let slurm = SimulatedSlurm()
    slurm.rejection = "sbatch: error: Batch job submission failed: Invalid partition name specified"
    let executor = SlurmExecutor(spec: ExecutorSpec(kind: .slurm, partition: "nope"), pollInterval: 0.02, runCommand: { slurm.run($0, $1) })
    let engine = try Engine(pipeline: Pipeline(PipelineLoader.load("\(ws.root)/p.yaml"), resolver: ExecutableResolver(besideDirectories: [], searchPath: [])),
                            store: Store(root: "\(ws.root)/cache"))
    let report = Scheduler(engine: engine, executor: executor, options: RunOptions(jobs: 2, cores: 2),
                           display: ProgressDisplay(isTerminal: false, write: { _ in })).run()
    let failure = try #require(report.failed["a"])
    #expect(failure.contains("--partition=nope"))
    #expect(failure.contains("Invalid partition name specified"))
    #expect(ws.runsLog.isEmpty)
}
