#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shards

/// Record reuse, the scheduler's side (docs/stage-contract.md, "Record reuse"): a stale unit of a stage that
/// declares it gets, in its job's `reuse`, the newest intact artifact made by the same executable with the
/// same params, and copies from it the records whose own inputs are unchanged.

extension KeyParts {
    /// The key without its inputs and slices: what decides how a record is made from its own inputs. Units
    /// with the same recipe make the same record from the same inputs.
    public var recipe: String {
        Digest.sha256Hex(JSONValue.object(["executable": .string(executable), "params": params, "schema": .int(Int64(schema))]).canonicalBytes)
    }
}

/// How many records a job (or a stage's jobs, added up) copied from an earlier artifact and computed.
public struct ReuseCounts: Sendable, Equatable {
    public var reused = 0
    public var computed = 0
    public init(reused: Int = 0, computed: Int = 0) {
        self.reused = reused
        self.computed = computed
    }
    public static func + (a: ReuseCounts, b: ReuseCounts) -> ReuseCounts {
        ReuseCounts(reused: a.reused + b.reused, computed: a.computed + b.computed)
    }

    /// `3 records computed, 1997 copied from an earlier run` (what `run` prints for each stage that declares
    /// record reuse).
    public var doneText: String {
        "\(computed) record\(computed == 1 ? "" : "s") computed, \(reused) copied from an earlier run"
    }

    /// `3 records to compute, 1997 to copy from an earlier run` (what `status` and `why` print).
    public var plannedText: String {
        "\(computed) record\(computed == 1 ? "" : "s") to compute, \(reused) to copy from an earlier run"
    }

    /// The counts a stage's `records reused R computed C` line reports, nil for any other line.
    public init?(reportLine line: String) {
        guard let (reused, computed) = RecordReuse.parseReportLine(line) else { return nil }
        self.init(reused: reused, computed: computed)
    }
}

extension Store {
    /// `recipes/<recipe>`: the key of the newest committed unit made with that recipe.
    public var recipesDirectory: String { "\(root)/recipes" }

    /// Remembers `key` as the newest run with its recipe (after its run record is written).
    public func rememberRecipe(of parts: KeyParts, key: String) throws {
        try FileManager.default.createDirectory(atPath: recipesDirectory, withIntermediateDirectories: true)
        try writeFileAtomically("\(recipesDirectory)/\(parts.recipe)", Array(key.utf8))
    }

    /// The newest run made with `recipe`, when it is still intact (every object present).
    public func newestIntactRun(recipe: String) -> RunRecord? {
        guard let bytes = try? readFile("\(recipesDirectory)/\(recipe)"),
              let record = readRun(String(decoding: bytes, as: UTF8.self)), problems(of: record).isEmpty else { return nil }
        return record
    }
}

extension Engine {
    /// The artifact a stale unit may copy records from: the newest intact run of the same recipe, for a stage
    /// that declares record reuse. None for the unit's own run (a forced rerun recomputes everything).
    public func earlierRun(for unit: StageUnit) -> RunRecord? {
        guard reusingStages.contains(unit.stage.name), let record = store.newestIntactRun(recipe: unit.parts.recipe),
              record.key != unit.key else { return nil }
        return record
    }

    /// How many records the unit's jobs would copy and compute, as its executable counts them
    /// (`--plan-reuse`, reading the inputs' and the earlier artifact's metadata only); nil when there is no
    /// earlier artifact or the executable cannot say.
    public func reusePlan(_ unit: StageUnit, inputs: [String: ArtifactManifest]) -> ReuseCounts? {
        guard let earlier = earlierRun(for: unit), let executable = pipeline.executables[unit.stage.name] else { return nil }
        let folder = NSTemporaryDirectory() + "mammoflow-plan-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let count = unit.stage.slices
        var total = ReuseCounts()
        for i in 0..<count {
            let job = StageJob(stage: unit.stage.name, params: unit.parts.params, inputs: inputs.mapValues(located),
                               output: "\(folder)/out", threads: 1, slice: count > 1 ? JobSlice(index: i, count: count) : nil,
                               reuse: located(earlier.manifest))
            guard (try? FileManager.default.createDirectory(atPath: "\(folder)/out", withIntermediateDirectories: true)) != nil,
                  (try? writeFileAtomically("\(folder)/job.json", job.canonicalJSON)) != nil,
                  let counts = Self.askPlan(executable, job: "\(folder)/job.json") else { return nil }
            total = total + counts
        }
        return total
    }

    /// Runs `executable --job JOB --plan-reuse` and reads its `records reused R computed C` line.
    static func askPlan(_ executable: String, job: String) -> ReuseCounts? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--job", job, "--plan-reuse"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard let exit = try? process.start() else { return nil }
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        exit.wait()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").lazy.compactMap { ReuseCounts(reportLine: String($0)) }.last
    }

    /// What `status` and `why` say of a stale stage's records: exact counts from `reusePlan` when its inputs
    /// are known (`inputs`), else how many records an earlier artifact offers and that the counts come once
    /// the stale upstream stages have run. Nil for a stage that does not declare record reuse.
    public func reuseOutlook(of stage: StageSpec, inputs: [String: ArtifactManifest]?, staleUpstream: [String]) -> String? {
        guard reusingStages.contains(stage.name) else { return nil }
        let none = "no earlier run to copy records from: every record computed"
        // The recipe does not depend on the inputs: units made without them still find the earlier runs.
        let units = units(of: stage, inputs: inputs ?? [:])
        guard let inputs else {
            let offered = units.compactMap { earlierRun(for: $0)?.manifest.records }
            guard !offered.isEmpty else { return none }
            return "up to \(offered.reduce(0, +)) records to copy from an earlier run: counted after \(staleUpstream.joined(separator: ", ")) ran"
        }
        var total = ReuseCounts()
        for unit in units {
            guard let plan = reusePlan(unit, inputs: inputs) else { return earlierRun(for: unit) == nil ? none : nil }
            total = total + plan
        }
        return total.plannedText
    }
}
