import Shards

/// What a stage needs, decided before anything runs (DVC's status before its repro): its units, the fresh ones
/// with their run records, and the ones to run with why.
struct StagePlan {
    let stage: StageSpec
    /// The stage's input artifacts by dependency name, gathered once for its units and jobs.
    let inputs: [String: ArtifactManifest]
    let units: [StageUnit]
    /// `run --force` named the stage: every unit runs, fresh or not.
    let forced: Bool
    /// Run records of the fresh units, by unit key.
    var fresh: [String: RunRecord] = [:]
    /// The units to run, in order, each with why.
    var stale: [(unit: StageUnit, reasons: [String])] = []

    /// Why the stage would run, as `--dry-run` prints it.
    var reasons: [String] { forced ? ["forced"] : stale.flatMap(\.reasons) }
}

extension Scheduler {
    /// Plans `stage` once its dependencies' artifacts are known: a forced stage's units are not checked.
    func plan(_ stage: StageSpec, artifacts: [String: ArtifactManifest]) -> StagePlan {
        let inputs = engine.inputs(of: stage, artifacts: artifacts)
        let forced = options.force.contains(stage.name)
        var plan = StagePlan(stage: stage, inputs: inputs, units: engine.units(of: stage, inputs: inputs), forced: forced)
        for unit in plan.units {
            if forced {
                plan.stale.append((unit, ["forced"]))
                continue
            }
            let check = engine.check(unit)
            if let record = check.record {
                plan.fresh[unit.key] = record
            } else {
                plan.stale.append((unit, check.reasons))
            }
        }
        return plan
    }

    /// What `run --dry-run` reports: each wanted stage fresh, or would run and why; nothing is written.
    func dryRun(_ stages: [StageSpec]) -> RunReport {
        var report = RunReport()
        var artifacts: [String: ArtifactManifest] = [:]
        for stage in stages {
            guard stage.deps.allSatisfy({ artifacts[$0] != nil }) else {
                report.wouldRun.append((stage.name, ["after its upstream runs"]))
                continue
            }
            let plan = plan(stage, artifacts: artifacts)
            if plan.forced || !plan.stale.isEmpty {
                report.wouldRun.append((stage.name, plan.reasons))
            } else {
                artifacts[stage.name] = engine.artifact(of: stage, records: plan.units.map { plan.fresh[$0.key]! })
                report.fresh.append(stage.name)
            }
        }
        return report
    }
}
