#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Pipeline
import Shards
import StageTesting

/// A fresh directory per test (tests run in parallel).
func scratch(_ name: String = #function) throws -> String {
    let dir = NSTemporaryDirectory() + "mammoflow-pipeline-\(name.prefix(while: { $0 != "(" }))-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func write(_ path: String, _ text: String, executable: Bool = false) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    if executable { chmod(path, 0o755) }
}

/// Runs stages in-process, no processes: each job writes `result.txt` = its params' canonical JSON followed by
/// the contents of every input file, so outputs change exactly when params or inputs do. `fail: true` in the
/// params makes the job fail; `records: N` sets the record count; `source: PATH` lists that file as a source
/// (outside the store) and `stamps: reported|wrong|none` says what it writes to MAMMOFLOW_SOURCE_STAMPS (default
/// none). Remembers every job it ran.
final class FakeExecutor: JobExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var jobs: [StageJob] = []

    var stagesRun: [String] {
        lock.lock(); defer { lock.unlock() }
        return jobs.map(\.stage)
    }

    func execute(_ job: ProcessJob, onLine: @escaping (String) -> Void) -> Int32 {
        do {
            let stageJob = try JSONValue.parse(readFile(job.jobFile)).decode(StageJob.self)
            lock.lock()
            jobs.append(stageJob)
            lock.unlock()
            if stageJob.params["fail"]?.boolValue == true {
                onLine("stage \(stageJob.stage) cannot go on: asked to fail")
                return 3
            }
            var content = Array(stageJob.params.canonicalText.utf8)
            if let slice = stageJob.slice { content += Array(" slice \(slice.index)/\(slice.count)".utf8) }
            for name in stageJob.inputs.keys.sorted() {
                for file in stageJob.inputs[name]!.files { content += try readFile(file.location!) }
            }
            let name = "result-\(stageJob.slice?.index ?? 0).txt"
            try writeFileAtomically("\(stageJob.output)/\(name)", content)
            onLine("progress 1 1")
            var files = [ArtifactFile(path: name, sha256: Digest.sha256Hex(content), size: content.count)]
            if let source = stageJob.params["source"]?.stringValue {
                let stamp = try FileDescriptor(reading: source).stamp()
                files.append(ArtifactFile(path: "source", sha256: try Digest.sha256Hex(file: source), size: stamp.size, source: source))
                let stamped = stageJob.params["stamps"]?.stringValue == "wrong" ? "\(source).other" : source
                if stageJob.params["stamps"]?.stringValue ?? "none" != "none", let path = job.environment["MAMMOFLOW_SOURCE_STAMPS"] {
                    try SourceStamps(files: [.init(path: stamped, stamp: stamp)], folders: []).write(to: path)
                }
            }
            let manifest = ArtifactManifest(stage: stageJob.stage, files: files, records: stageJob.params["records"]?.intValue ?? 1)
            try writeFileAtomically("\(stageJob.output)/manifest.json", Array(JSONEncoder().encode(manifest)))
            return 0
        } catch {
            onLine("fake executor: \(error)")
            return 1
        }
    }

    func terminateAll() {}
}

/// A test workspace: a folder with stage executables (any file will do for the fake executor), pipeline files
/// and a cache.
struct Workspace {
    let root: String
    var cache: String { "\(root)/cache" }
    var store: Store { Store(root: cache) }
    var resolver: ExecutableResolver { ExecutableResolver(besideDirectories: ["\(root)/bin"], searchPath: []) }

    init(_ name: String = #function, stages: [String] = ["a", "b", "c", "d"]) throws {
        root = try scratch(name)
        for stage in stages { try write("\(root)/bin/stage-\(stage)", "#!/bin/sh\n# stage \(stage)\n", executable: true) }
    }

    func pipeline(_ file: String, sets: [String] = []) throws -> Pipeline {
        try Pipeline(PipelineLoader.load("\(root)/\(file)", sets: sets), resolver: resolver)
    }

    func engine(_ file: String, sets: [String] = []) throws -> Engine {
        try Engine(pipeline: pipeline(file, sets: sets), store: store)
    }

    /// Runs a pipeline with `executor`, returns the report.
    @discardableResult
    func run(_ file: String, sets: [String] = [], executor: JobExecutor, options: RunOptions = RunOptions(jobs: 2, cores: 2)) throws -> RunReport {
        let scheduler = try Scheduler(engine: engine(file, sets: sets), executor: executor, options: options,
                                      display: ProgressDisplay(isTerminal: false, write: { _ in }))
        return scheduler.run()
    }
}

/// A shell-script stage: writes `result.txt` = its params line + its inputs' contents, its manifest with
/// sha256sum, and appends its stage name to `runs.log` in the workspace. With param `hold: true` it waits
/// while the file `hold` exists in the workspace (so a test can kill things mid-stage).
func shellStage(workspace: String) -> String {
    """
    #!/bin/sh
    set -e
    job="$2"
    out=$(sed -n 's/.*"output":"\\([^"]*\\)".*/\\1/p' "$job")
    stage=$(sed -n 's/.*"stage":"\\([^"]*\\)".*/\\1/p' "$job")
    params=$(sed -n 's/.*"params":\\({[^}]*}\\).*/\\1/p' "$job")
    echo "$stage" >> "\(workspace)/runs.log"
    echo "progress 0 2" >&2
    case "$params" in *'"hold":true'*) while [ -e "\(workspace)/hold" ]; do sleep 0.05; done ;; esac
    case "$params" in *'"fail":true'*) echo "stage $stage: cannot go on" >&2; exit 3 ;; esac
    {
      echo "$params"
      for loc in $(grep -o '"location":"[^"]*"' "$job" | sed 's/"location":"\\(.*\\)"/\\1/'); do cat "$loc"; done
    } > "$out/result.txt.part"
    mv "$out/result.txt.part" "$out/result.txt"
    sha=$(sha256sum "$out/result.txt" | cut -d' ' -f1)
    size=$(wc -c < "$out/result.txt")
    echo "progress 2 2" >&2
    printf '{"files":[{"path":"result.txt","sha256":"%s","size":%s}],"records":1,"rejects":[],"schema":1,"stage":"%s","summary":{}}' "$sha" "$size" "$stage" > "$out/manifest.json"
    """
}
