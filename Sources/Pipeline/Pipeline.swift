import Foundation
import Shards

/// A validated pipeline: stages in dependency order, every dependency known, no cycle, every executable found.
public struct Pipeline: Sendable {
    public let file: String
    /// Topological order (a stage after all its dependencies), ties kept in declaration order.
    public private(set) var stages: [StageSpec]
    /// Absolute path of each stage's executable.
    public let executables: [String: String]
    /// Where jobs run unless `run --executor` says otherwise (local when the file has no `executor:`).
    public let executor: ExecutorSpec

    public func stage(_ name: String) -> StageSpec? { stages.first { $0.name == name } }

    /// Makes each relative value of a `path` param of stage `name` absolute, against the folder its
    /// `paramFolders` entry names: the job runs in a folder of the cache's, where a relative path means
    /// nothing the user meant.
    public mutating func resolvePaths(of name: String, declared specs: [ParamSpec]) {
        guard let i = stages.firstIndex(where: { $0.name == name }) else { return }
        for spec in specs where spec.type == .path {
            guard let value = stages[i].params[spec.name]?.stringValue, !value.isEmpty, !value.hasPrefix("/") else { continue }
            let folder = stages[i].paramFolders[spec.name] ?? FileManager.default.currentDirectoryPath
            stages[i].params[spec.name] = .string(URL(fileURLWithPath: value, relativeTo: URL(fileURLWithPath: folder, isDirectory: true))
                .standardizedFileURL.path)
        }
    }

    /// Validates `spec`: unknown dependencies, cycles and missing executables are errors naming file, stage and field.
    public init(_ spec: PipelineSpec, resolver: ExecutableResolver) throws {
        file = spec.file
        executor = spec.executor ?? ExecutorSpec()
        let names = Set(spec.stages.map(\.name))
        for stage in spec.stages {
            for dep in stage.deps where !names.contains(dep) {
                throw PipelineError(file: stage.file, line: stage.line, stage: stage.name, field: "deps",
                                    reason: "unknown stage '\(dep)'; stages: \(spec.stages.map(\.name).joined(separator: ", "))")
            }
            if Set(stage.deps).count != stage.deps.count {
                throw PipelineError(file: stage.file, line: stage.line, stage: stage.name, field: "deps", reason: "lists a stage twice")
            }
        }
        stages = try Self.topologicalOrder(spec.stages)
        var executables: [String: String] = [:]
        for stage in stages {
            guard let path = resolver.resolve(stage.run, pipelineFile: stage.file) else {
                if let file = resolver.candidates(stage.run, pipelineFile: stage.file).first(where: { FileManager.default.fileExists(atPath: $0) }) {
                    throw PipelineError(file: stage.file, line: stage.line, stage: stage.name, field: "run",
                                        reason: "\(file) exists but is not executable (chmod +x \(file))")
                }
                throw PipelineError(file: stage.file, line: stage.line, stage: stage.name, field: "run",
                                    reason: "executable '\(stage.run)' not found (looked in \(resolver.describeSearch(stage.run, pipelineFile: stage.file)))")
            }
            executables[stage.name] = path
        }
        self.executables = executables
    }

    /// Kahn's algorithm in declaration order; a leftover means a cycle, which is reported as a path.
    static func topologicalOrder(_ stages: [StageSpec]) throws -> [StageSpec] {
        var done = Set<String>()
        var order: [StageSpec] = []
        var remaining = stages
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { $0.deps.allSatisfy(done.contains) }) else {
                let cycle = findCycle(remaining)
                let first = remaining.first { $0.name == cycle[0] }!
                throw PipelineError(file: first.file, line: first.line, stage: first.name, field: "deps",
                                    reason: "dependency cycle \(cycle.joined(separator: " -> "))")
            }
            done.insert(remaining[next].name)
            order.append(remaining.remove(at: next))
        }
        return order
    }

    private static func findCycle(_ stages: [StageSpec]) -> [String] {
        let deps = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, $0.deps) })
        var path: [String] = []
        var current = stages[0].name
        while !path.contains(current) {
            path.append(current)
            current = deps[current]!.first { deps[$0] != nil }!
        }
        return Array(path[path.firstIndex(of: current)!...]) + [current]
    }

    /// `name` and everything it depends on, transitively.
    public func ancestors(of name: String, including: Bool = true) -> Set<String> {
        var result = Set<String>()
        var stack = [name]
        while let n = stack.popLast() {
            for d in stage(n)?.deps ?? [] where result.insert(d).inserted { stack.append(d) }
        }
        if including { result.insert(name) }
        return result
    }

    /// Everything that depends on `name`, transitively.
    public func descendants(of name: String) -> Set<String> {
        var result = Set<String>()
        for stage in stages where stage.deps.contains(where: { $0 == name || result.contains($0) }) {
            result.insert(stage.name)
        }
        return result
    }
}
