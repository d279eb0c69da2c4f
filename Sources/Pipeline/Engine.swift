import Foundation
import Shards

/// One unit of cached work: a stage, or one `foreach` value of it. Its slices (if any) share its key.
public struct StageUnit: Sendable {
    public let stage: StageSpec
    /// The `foreach` value this unit runs with, if the stage has `foreach`.
    public let foreachValue: JSONValue?
    public let parts: KeyParts
    public var key: String { parts.key }

    /// `train[fold=0]`, or just `decode`.
    public var label: String {
        guard let f = stage.foreach, let v = foreachValue else { return stage.name }
        return "\(stage.name)[\(f.name)=\(Self.text(v))]"
    }

    /// A foreach value as it appears in labels and folder names: strings unquoted.
    static func text(_ v: JSONValue) -> String { v.stringValue ?? v.canonicalText }
}

/// Where a stage stands: fresh with its artifact, or stale and why.
public enum StageState: Sendable {
    case fresh(ArtifactManifest, [RunRecord])
    /// `units` is empty when the keys cannot be known yet (an upstream stage is stale).
    case stale(reasons: [String], units: [StageUnit])

    public var isFresh: Bool { if case .fresh = self { return true }; return false }
}

/// The pure logic shared by `run`, `status`, `why` and `gc`: keys, freshness, artifacts, over one store.
public final class Engine {
    public let pipeline: Pipeline
    public let store: Store
    /// SHA-256 of each stage's executable, by stage name.
    public let executableHashes: [String: String]
    /// The params each stage's executable declares, by stage name; absent for one that declares none.
    public let declaredParams: [String: [ParamSpec]]
    /// Stages whose executables copy unchanged records from an earlier artifact (`"reuse": "records"`).
    public let reusingStages: Set<String>

    public init(pipeline: Pipeline, store: Store, executableHashes: [String: String], declaredParams: [String: [ParamSpec]] = [:],
                reusingStages: Set<String> = []) {
        self.pipeline = pipeline
        self.store = store
        self.executableHashes = executableHashes
        self.declaredParams = declaredParams
        self.reusingStages = reusingStages
    }

    /// Hashes every stage executable through the executables' stat cache (a `stat` each when unchanged), and
    /// checks each stage's params against what its executable declares: a misspelt, empty or out-of-range
    /// param is a `PipelineError` here, before anything runs. Executables are hashed and asked on every core:
    /// on a new cache that is nine 17 MB files and nine child processes before the first stage starts.
    public convenience init(pipeline: Pipeline, store: Store) throws {
        var pipeline = pipeline
        let cache = StatCache(path: store.executableStatCachePath)
        let descriptions = ParamDescriptions(store: store)
        // Per stage, its executable's hash, then its answer (an error naming the stage when it cannot be asked).
        var hashes: [String: String] = [:]
        var answers: [String: Result<StageParamsDescription?, Error>] = [:]
        try orderedParallelMap(count: pipeline.stages.count, threads: ProcessInfo.processInfo.activeProcessorCount) { i in
            let path = pipeline.executables[pipeline.stages[i].name]!
            return Result { () throws -> (String, Result<StageParamsDescription?, Error>) in
                let sha = try cache.sha256(ofFile: path).sha256
                return (sha, Result { try descriptions.description(of: path, sha256: sha) })
            }
        } consume: { i, hashed in
            let (sha, answer) = try hashed.get()
            hashes[pipeline.stages[i].name] = sha
            answers[pipeline.stages[i].name] = answer
        }
        if FileManager.default.fileExists(atPath: store.root) { try? cache.flush() }
        var declared: [String: [ParamSpec]] = [:]
        var reusing = Set<String>()
        for stage in pipeline.stages {
            let description: StageParamsDescription?
            do { description = try answers[stage.name]!.get() } catch {
                throw PipelineError(file: pipeline.file, stage: stage.name, field: "run", reason: "\(error)")
            }
            guard let specs = description?.params else { continue }
            declared[stage.name] = specs
            pipeline.resolvePaths(of: stage.name, declared: specs)
            if description?.reusesRecords == true { reusing.insert(stage.name) }
            let problems = Self.paramProblems(of: pipeline.stage(stage.name)!, against: specs)
            if !problems.isEmpty {
                throw PipelineError(file: pipeline.file, stage: stage.name, field: "params", reason: problems.joined(separator: "; "))
            }
        }
        self.init(pipeline: pipeline, store: store, executableHashes: hashes, declaredParams: declared, reusingStages: reusing)
    }

    /// A stage's params (each `foreach` value merged in) against its executable's declarations.
    public static func paramProblems(of stage: StageSpec, against specs: [ParamSpec]) -> [String] {
        guard let f = stage.foreach else { return ParamSpec.problems(of: stage.params, against: specs) }
        var seen = Set<String>()
        return f.values.flatMap { value in
            ParamSpec.problems(of: stage.params.merging([f.name: value]) { _, new in new }, against: specs)
        }.filter { seen.insert($0).inserted }
    }

    /// The units of `stage` given its inputs' artifacts (by dependency name).
    public func units(of stage: StageSpec, inputs: [String: ArtifactManifest]) -> [StageUnit] {
        let inputIDs = inputs.mapValues(\.contentID)
        let exe = executableHashes[stage.name] ?? ""
        // A param that asks for its declared default leaves the key as if it were not written: the stage
        // does the same work either way.
        let defaults = Dictionary((declaredParams[stage.name] ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let explicit = stage.params.filter { name, value in defaults[name]?.isDefault(value) != true }
        func unit(_ value: JSONValue?) -> StageUnit {
            var params = explicit
            if let f = stage.foreach, let value { params[f.name] = value }
            let parts = KeyParts(executable: exe, params: .object(params), inputs: inputIDs, slices: stage.slices)
            return StageUnit(stage: stage, foreachValue: value, parts: parts)
        }
        guard let f = stage.foreach else { return [unit(nil)] }
        return f.values.map(unit)
    }

    /// A unit's run record if it is intact (present, every object present, sources unchanged), else why not.
    public func check(_ unit: StageUnit) -> (record: RunRecord?, reasons: [String]) {
        if let record = store.readRun(unit.key) {
            let problems = store.problems(of: record)
            if problems.isEmpty { return (record, []) }
            return (nil, problems)
        }
        return (nil, reasonsNeverRun(unit))
    }

    /// Why a unit has no run: which key parts changed since the last run of this stage in this pipeline.
    func reasonsNeverRun(_ unit: StageUnit) -> [String] {
        guard let last = store.lastRun(pipeline: pipeline.file, stage: unit.stage.name) else {
            return ["never run"]
        }
        let foreachName = unit.stage.foreach?.name
        let previous = last.first { run in
            guard let name = foreachName else { return true }
            return run.parts.params[name] == unit.foreachValue
        } ?? last.first!
        if previous.key == unit.key { return ["its run record is gone (gc, or never committed)"] }
        let changes = unit.parts.changes(since: previous.parts)
        return changes.isEmpty ? ["never run"] : changes
    }

    /// The artifact a stage's dependents see: the one unit's manifest, or for `foreach` the units' manifests
    /// merged, each unit's files under `<name>=<value>/` and its summary under that name.
    public func artifact(of stage: StageSpec, records: [RunRecord]) -> ArtifactManifest {
        guard let f = stage.foreach else { return records[0].manifest }
        var files: [ArtifactFile] = []
        var summary: [String: JSONValue] = [:]
        var rejects: [Reject] = []
        var count = 0
        for (value, record) in zip(f.values, records) {
            let folder = "\(f.name)=\(StageUnit.text(value))"
            files += record.manifest.files.map { var file = $0; file.path = "\(folder)/\(file.path)"; return file }
            summary[folder] = record.manifest.summary
            rejects += record.manifest.rejects
            count += record.manifest.records
        }
        return ArtifactManifest(stage: stage.name, files: files, records: count, rejects: uniqueRejects(rejects), summary: .object(summary))
    }

    /// Every stage's state in dependency order, without running anything: what `status` prints. With
    /// `outlook`, a stale stage that declares record reuse also says how many records it would copy and
    /// compute (`reuseOutlook`: its executable counts them when its inputs are known).
    public func states(outlook: Bool = false) -> [(stage: StageSpec, state: StageState)] {
        var artifacts: [String: ArtifactManifest] = [:]
        var result: [(StageSpec, StageState)] = []
        for stage in pipeline.stages {
            let staleDeps = stage.deps.filter { artifacts[$0] == nil }
            if !staleDeps.isEmpty {
                var reasons = ["upstream \(staleDeps.joined(separator: ", ")) is stale"]
                if outlook, let text = reuseOutlook(of: stage, inputs: nil, staleUpstream: staleDeps) { reasons.append(text) }
                result.append((stage, .stale(reasons: reasons, units: [])))
                continue
            }
            let units = units(of: stage, inputs: inputs(of: stage, artifacts: artifacts))
            var records: [RunRecord] = []
            var reasons: [String] = []
            for unit in units {
                let (record, why) = check(unit)
                if let record { records.append(record) }
                reasons += units.count > 1 ? why.map { "\(unit.label): \($0)" } : why
            }
            if records.count == units.count {
                let artifact = artifact(of: stage, records: records)
                artifacts[stage.name] = artifact
                result.append((stage, .fresh(artifact, records)))
            } else {
                if outlook, let text = reuseOutlook(of: stage, inputs: inputs(of: stage, artifacts: artifacts), staleUpstream: []) {
                    reasons.append(text)
                }
                result.append((stage, .stale(reasons: reasons, units: units)))
            }
        }
        return result
    }

    func inputs(of stage: StageSpec, artifacts: [String: ArtifactManifest]) -> [String: ArtifactManifest] {
        Dictionary(uniqueKeysWithValues: stage.deps.map { ($0, artifacts[$0]!) })
    }

    /// An input manifest as a job sees it: every file with the `location` to read it from now.
    public func located(_ manifest: ArtifactManifest) -> ArtifactManifest {
        var copy = manifest
        copy.files = manifest.files.map { var f = $0; f.location = f.source ?? store.objectPath(f.sha256); return f }
        return copy
    }
}

/// Rejects without repeats (every slice carries its inputs' rejects forward), first occurrence kept.
func uniqueRejects(_ rejects: [Reject]) -> [Reject] {
    var seen = Set<String>()
    return rejects.filter { seen.insert("\($0.key)\u{0}\($0.file ?? "")\u{0}\($0.reason)\u{0}\($0.stage ?? "")").inserted }
}
