import Foundation
import Shards

/// Pictures of a pipeline's graph for `mammoflow dag`.
public enum DagFormat: String, CaseIterable, Sendable {
    case text, dot, mermaid
}

extension Pipeline {
    /// The DAG as text (one stage a line with its dependencies), Graphviz dot, or a Mermaid flowchart.
    /// `fresh` colours fresh stages in dot and mermaid.
    public func render(_ format: DagFormat, fresh: Set<String> = []) -> String {
        func annotation(_ s: StageSpec) -> String {
            var parts: [String] = []
            if let f = s.foreach { parts.append("foreach \(f.name) x\(f.values.count)") }
            if s.slices > 1 { parts.append("\(s.slices) slices") }
            return parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
        }
        switch format {
        case .text:
            let width = stages.map(\.name.count).max() ?? 0
            return stages.map { s in
                let deps = s.deps.isEmpty ? "" : " <- \(s.deps.joined(separator: ", "))"
                return "\(s.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(s.run)\(deps)\(annotation(s))"
            }.joined(separator: "\n") + "\n"
        case .dot:
            var out = "digraph pipeline {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n"
            for s in stages {
                let colour = fresh.contains(s.name) ? ", color=darkgreen" : ""
                out += "  \"\(s.name)\" [label=\"\(s.name)\(annotation(s))\"\(colour)];\n"
            }
            for s in stages { for d in s.deps { out += "  \"\(d)\" -> \"\(s.name)\";\n" } }
            return out + "}\n"
        case .mermaid:
            var out = "flowchart LR\n"
            for s in stages { out += "  \(s.name)[\"\(s.name)\(annotation(s))\"]\n" }
            for s in stages { for d in s.deps { out += "  \(d) --> \(s.name)\n" } }
            if !fresh.isEmpty {
                out += "  classDef fresh stroke:#2a2,stroke-width:2px\n"
                out += "  class \(stages.map(\.name).filter(fresh.contains).joined(separator: ",")) fresh\n"
            }
            return out
        }
    }
}
