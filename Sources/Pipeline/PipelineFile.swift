import Foundation
import Shards
import Yams

/// A problem with a pipeline file, naming the file, the line when known, the stage and the field.
public struct PipelineError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let stage: String?
    public let field: String?
    public let reason: String

    public init(file: String, line: Int? = nil, stage: String? = nil, field: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.stage = stage
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        var subject: [String] = []
        if let stage { subject.append("stage '\(stage)'") }
        if let field { subject.append("field '\(field)'") }
        return subject.isEmpty ? "\(place): \(reason)" : "\(place): \(subject.joined(separator: ", ")): \(reason)"
    }
}

/// `foreach: { fold: [0, 1, 2, 3] }`: one job per value, the value merged into the params under `name`.
public struct Foreach: Sendable, Equatable {
    public var name: String
    public var values: [JSONValue]
}

/// One stage as declared, after `extends` and `--set` are applied.
public struct StageSpec: Sendable, Equatable {
    public var name: String
    /// The executable: a bare name (looked up beside `mammoflow`, then on PATH) or a path relative to the file.
    public var run: String
    public var deps: [String]
    /// Always a mapping.
    public var params: [String: JSONValue]
    public var foreach: Foreach?
    /// Run as this many independent jobs over the input records (StageJob.slice), merged into one artifact.
    public var slices: Int
    /// What each job asks a cluster for (Slurm only; not part of the cache key).
    public var resources = StageResources()
    /// Per param, the folder a relative path in its value is taken from (a `path` param, ParamSpec.Kind): the
    /// folder of the pipeline file that set it, or the current directory for `--set`.
    public var paramFolders: [String: String] = [:]
    /// The file that declared the stage last, and where (for error messages).
    public var file: String
    public var line: Int?
}

/// A pipeline file as read: its stages in declaration order. Not yet validated as a graph.
public struct PipelineSpec: Sendable, Equatable {
    /// The file given on the command line.
    public var file: String
    public var stages: [StageSpec]
    /// `executor:` as declared (the base's, with a variant's fields replacing those it sets); nil when absent.
    public var executor: ExecutorSpec?

    public func stage(_ name: String) -> StageSpec? { stages.first { $0.name == name } }
}

public enum PipelineLoader {
    static let topLevelFields: Set<String> = ["stages", "extends", "executor"]
    static let stageFields: Set<String> = ["run", "deps", "params", "foreach", "slices", "resources"]

    /// Reads `path`, resolving `extends:` chains, then applies `--set stage.param=value` overrides.
    public static func load(_ path: String, sets: [String] = []) throws -> PipelineSpec {
        var spec = try read(path, visiting: [])
        for assignment in sets { try apply(set: assignment, to: &spec) }
        return spec
    }

    /// Parses pipeline text (used by `load` and by tests).
    public static func parse(_ text: String, file: String, base: PipelineSpec?) throws -> PipelineSpec {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw PipelineError(file: file, reason: "not valid YAML: \(error)")
        }
        guard let root, let top = root.mapping else {
            throw PipelineError(file: file, line: root?.mark?.line, reason: "must be a mapping with a 'stages:' field")
        }
        var stages = base?.stages ?? []
        var executor = base?.executor
        for (keyNode, value) in top {
            let key = keyNode.string ?? ""
            guard topLevelFields.contains(key) else {
                throw PipelineError(file: file, line: keyNode.mark?.line, field: key,
                                    reason: "unknown top-level field; expected one of \(topLevelFields.sorted().joined(separator: ", "))")
            }
            if key == "executor" {
                executor = try parseExecutor(value, file: file, inherited: executor)
                continue
            }
            guard key == "stages" else { continue }
            guard let mapping = value.mapping else {
                throw PipelineError(file: file, line: value.mark?.line, field: "stages", reason: "must be a mapping of stage names to stages")
            }
            for (nameNode, body) in mapping {
                let name = nameNode.string ?? ""
                guard isValidName(name) else {
                    throw PipelineError(file: file, line: nameNode.mark?.line, stage: name,
                                        reason: "a stage name is letters, digits, '-' and '_'")
                }
                let existing = stages.firstIndex { $0.name == name }
                // `name: ~` in a variant removes an inherited stage (e.g. the synthetic cohort when ingesting).
                if let existing, body.null != nil {
                    stages.remove(at: existing)
                    continue
                }
                let stage = try parseStage(name, body, file: file, inherited: existing.map { stages[$0] })
                if let existing { stages[existing] = stage } else { stages.append(stage) }
            }
        }
        if base == nil && stages.isEmpty {
            throw PipelineError(file: file, field: "stages", reason: "no stages declared")
        }
        return PipelineSpec(file: file, stages: stages, executor: executor)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }
    }

    private static func read(_ path: String, visiting: [String]) throws -> PipelineSpec {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if visiting.contains(absolute) {
            throw PipelineError(file: path, field: "extends", reason: "extends itself through \((visiting + [absolute]).joined(separator: " -> "))")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(file: path, reason: "cannot read the pipeline file (does it exist?)")
        }
        let text = String(decoding: data, as: UTF8.self)
        // `extends` is resolved first so the variant's stages override the base's.
        var base: PipelineSpec?
        if let top = (try? Yams.compose(yaml: text))??.mapping, let extends = top["extends"] {
            guard let relative = extends.string, extends.scalar != nil else {
                throw PipelineError(file: path, line: extends.mark?.line, field: "extends", reason: "must be the path of another pipeline file")
            }
            let basePath = relative.hasPrefix("/") ? relative
                : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(relative).path
            guard FileManager.default.fileExists(atPath: basePath) else {
                throw PipelineError(file: path, line: extends.mark?.line, field: "extends", reason: "no such file \(basePath)")
            }
            base = try read(basePath, visiting: visiting + [absolute])
        }
        var spec = try parse(text, file: path, base: base)
        spec.file = path
        return spec
    }

    private static func parseStage(_ name: String, _ body: Node, file: String, inherited: StageSpec?) throws -> StageSpec {
        func fail(_ node: Node?, _ field: String?, _ reason: String) -> PipelineError {
            PipelineError(file: file, line: node?.mark?.line ?? body.mark?.line, stage: name, field: field, reason: reason)
        }
        guard let mapping = body.mapping else { throw fail(body, nil, "must be a mapping with at least 'run:'") }
        var stage = inherited ?? StageSpec(name: name, run: "", deps: [], params: [:], foreach: nil, slices: 1, file: file, line: body.mark?.line)
        stage.file = file
        stage.line = body.mark?.line
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            switch key {
            case "run":
                guard let run = value.scalar?.string, !run.isEmpty else { throw fail(value, "run", "must be the name or path of an executable") }
                stage.run = run
            case "deps":
                guard let items = value.sequence?.map({ $0.scalar?.string }), items.allSatisfy({ $0 != nil }) else {
                    throw fail(value, "deps", "must be a list of stage names, e.g. [decode]")
                }
                stage.deps = items.map { $0! }
            case "params":
                guard let fields = value.mapping else { throw fail(value, "params", "must be a mapping of names to values") }
                for (paramNode, paramValue) in fields {
                    let param = paramNode.string ?? ""
                    let new = try jsonValue(paramValue, file: file, stage: name, field: "params.\(param)")
                    if let old = stage.params[param] {
                        try checkSameType(old: old, new: new, file: file, line: paramValue.mark?.line, stage: name, param: param)
                    }
                    stage.params[param] = new
                    stage.paramFolders[param] = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
                }
            case "foreach":
                guard let fields = value.mapping, fields.count == 1, let (nameNode, list) = fields.first,
                      let variable = nameNode.string, let items = list.sequence, !items.isEmpty else {
                    throw fail(value, "foreach", "must be one name with a non-empty list of values, e.g. { fold: [0, 1, 2, 3] }")
                }
                let values = try items.map { try jsonValue($0, file: file, stage: name, field: "foreach.\(variable)") }
                guard Set(values).count == values.count else { throw fail(value, "foreach", "values must be distinct") }
                stage.foreach = Foreach(name: variable, values: values)
            case "slices":
                guard let n = value.scalar.flatMap({ _ in value.int }), n >= 1 else {
                    throw fail(value, "slices", "must be a whole number >= 1")
                }
                stage.slices = n
            case "resources":
                stage.resources = stage.resources.merging(try parseResources(value, file: file, stage: name))
            default:
                throw fail(keyNode, key, "unknown field; expected one of \(stageFields.sorted().joined(separator: ", "))")
            }
        }
        if stage.run.isEmpty { throw fail(body, "run", "missing: every stage needs an executable") }
        return stage
    }

    /// `resources: { cpus: 4, mem: 8G, time: "2:00:00", partition: gpu, gres: "gpu:1" }`: every field optional,
    /// each checked against Slurm's syntax here rather than rejected by `sbatch` in the middle of a run.
    static func parseResources(_ node: Node, file: String, stage: String) throws -> StageResources {
        func fail(_ at: Node, _ field: String, _ reason: String) -> PipelineError {
            PipelineError(file: file, line: at.mark?.line ?? node.mark?.line, stage: stage, field: field, reason: reason)
        }
        guard let mapping = node.mapping else {
            throw fail(node, "resources", "must be a mapping, e.g. { cpus: 4, mem: 8G, time: \"1:00:00\", gres: \"gpu:1\" }")
        }
        var resources = StageResources()
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let field = "resources.\(key)"
            // The scalar's own text: YAML 1.1 would read 1:00:00 as a sexagesimal number.
            let text = value.scalar?.string ?? ""
            switch key {
            case "cpus":
                guard value.scalar != nil, let n = Int(text), n >= 1 else { throw fail(value, field, "must be a whole number >= 1") }
                resources.cpus = n
            case "mem":
                guard StageResources.isMemory(text) else {
                    throw fail(value, field, "must be megabytes or a number with K, M, G or T (Slurm's --mem), e.g. 8G; found '\(text)'")
                }
                resources.mem = text
            case "time":
                guard StageResources.isTimeLimit(text) else {
                    throw fail(value, field, "must be minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S (Slurm's --time), e.g. \"2:00:00\"; found '\(text)'")
                }
                resources.time = text
            case "partition", "gres":
                guard StageResources.isToken(text) else {
                    throw fail(value, field, "must be one word such as \(key == "gres" ? "gpu:1" : "gpu"); found '\(text)'")
                }
                if key == "gres" { resources.gres = text } else { resources.partition = text }
            default:
                throw fail(keyNode, field, "unknown field; expected one of \(StageResources.fields.sorted().joined(separator: ", "))")
            }
        }
        return resources
    }

    /// `executor: { kind: slurm, partition: cpu, account: lab, options: [--qos=high] }`; a variant's fields
    /// replace the inherited ones they name.
    static func parseExecutor(_ node: Node, file: String, inherited: ExecutorSpec?) throws -> ExecutorSpec {
        func fail(_ at: Node, _ field: String, _ reason: String) -> PipelineError {
            PipelineError(file: file, line: at.mark?.line ?? node.mark?.line, field: field, reason: reason)
        }
        guard let mapping = node.mapping else { throw fail(node, "executor", "must be a mapping, e.g. { kind: slurm, partition: cpu }") }
        var executor = inherited ?? ExecutorSpec()
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let field = "executor.\(key)"
            let text = value.scalar?.string ?? ""
            switch key {
            case "kind":
                guard let kind = ExecutorKind(rawValue: text) else {
                    throw fail(value, field, "must be one of \(ExecutorKind.allCases.map(\.rawValue).joined(separator: ", ")); found '\(text)'")
                }
                executor.kind = kind
            case "partition", "account":
                guard StageResources.isToken(text) else { throw fail(value, field, "must be one word; found '\(text)'") }
                if key == "account" { executor.account = text } else { executor.partition = text }
            case "options":
                guard let items = value.sequence?.map({ $0.scalar?.string ?? "" }),
                      items.allSatisfy({ $0.hasPrefix("--") && $0.count > 2 && !$0.contains(where: \.isWhitespace) }) else {
                    throw fail(value, field, "must be a list of sbatch options, each one token like --qos=high")
                }
                executor.options = items
            default:
                throw fail(keyNode, field, "unknown field; expected one of \(ExecutorSpec.fields.sorted().joined(separator: ", "))")
            }
        }
        return executor
    }

    /// A YAML node as JSON: scalars resolved by YAML 1.2's core schema (ints, floats, booleans, null, strings).
    static func jsonValue(_ node: Node, file: String, stage: String, field: String) throws -> JSONValue {
        switch node {
        case .scalar:
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .string(node.string ?? "")
            case Tag.Name.int.rawValue: return node.int.map { .int(Int64($0)) } ?? .string(node.string ?? "")
            case Tag.Name.float.rawValue: return node.float.map(JSONValue.double) ?? .string(node.string ?? "")
            default: return .string(node.string ?? "")
            }
        case .sequence(let items):
            return .array(try items.map { try jsonValue($0, file: file, stage: stage, field: field) })
        case .mapping(let fields):
            var object: [String: JSONValue] = [:]
            for (k, v) in fields { object[k.string ?? ""] = try jsonValue(v, file: file, stage: stage, field: "\(field).\(k.string ?? "")") }
            return .object(object)
        case .alias:
            throw PipelineError(file: file, line: node.mark?.line, stage: stage, field: field, reason: "YAML aliases are not supported")
        }
    }

    /// An override must keep a parameter's kind (a number stays a number...): a typo like `factor: four`
    /// is caught here rather than deep inside the stage. `null` in either place allows any value.
    static func checkSameType(old: JSONValue, new: JSONValue, file: String, line: Int?, stage: String, param: String) throws {
        if old == .null || new == .null { return }
        if old.kindName == new.kindName {
            // A whole-number parameter stays whole: `factor: 4` cannot become 2.5.
            if case .int = old, new.intValue == nil {
                throw PipelineError(file: file, line: line, stage: stage, field: "params.\(param)",
                                    reason: "must be a whole number like the value it overrides (\(old.canonicalText)), found \(new.canonicalText)")
            }
            return
        }
        throw PipelineError(file: file, line: line, stage: stage, field: "params.\(param)",
                            reason: "must be \(old.kindName) like the value it overrides (\(old.canonicalText)), found \(new.kindName) \(new.canonicalText)")
    }

    /// `stage.param=value`, the value read as a YAML scalar (so `4` is a number and `MLO` a string;
    /// `[CC, MLO]` a list).
    public static func apply(set assignment: String, to spec: inout PipelineSpec) throws {
        let file = "--set \(assignment)"
        guard let eq = assignment.firstIndex(of: "="), let dot = assignment[..<eq].firstIndex(of: ".") else {
            throw PipelineError(file: file, reason: "expected STAGE.PARAM=VALUE")
        }
        let stageName = String(assignment[..<dot])
        let param = String(assignment[assignment.index(after: dot)..<eq])
        let text = String(assignment[assignment.index(after: eq)...])
        guard let index = spec.stages.firstIndex(where: { $0.name == stageName }) else {
            throw PipelineError(file: file, stage: stageName, reason: "no such stage in \(spec.file); stages: \(spec.stages.map(\.name).joined(separator: ", "))")
        }
        guard !param.isEmpty else { throw PipelineError(file: file, stage: stageName, reason: "missing the parameter name") }
        let value: JSONValue
        do {
            let node = try Yams.compose(yaml: text) ?? Node("", Tag(.null))
            value = try jsonValue(node, file: file, stage: stageName, field: "params.\(param)")
        } catch let error as PipelineError { throw error } catch {
            throw PipelineError(file: file, stage: stageName, field: "params.\(param)", reason: "not a YAML value: \(error)")
        }
        if let old = spec.stages[index].params[param] {
            try checkSameType(old: old, new: value, file: file, line: nil, stage: stageName, param: param)
        }
        spec.stages[index].params[param] = value
        spec.stages[index].paramFolders[param] = FileManager.default.currentDirectoryPath
    }
}
