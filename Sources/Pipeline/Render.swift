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

/// Pixel statistics of an image record, for `mammoflow show STAGE --id KEY`.
public struct PixelStatistics: Sendable, Equatable, Codable {
    public var width: Int
    public var height: Int
    public var bits: Int
    public var min: Int
    public var max: Int
    public var mean: Double
    /// Percentile (1, 5, 25, 50, 75, 95, 99) -> value, nearest-rank over all samples.
    public var percentiles: [String: Int]

    public init(_ image: ImagePayload) {
        width = image.width
        height = image.height
        bits = image.bits
        // A histogram instead of a sort: 16-bit samples have at most 65,536 values.
        var histogram = [Int](repeating: 0, count: 1 << 16)
        var sum = 0
        for v in image.samples {
            histogram[Int(v)] += 1
            sum += Int(v)
        }
        let n = image.samples.count
        min = histogram.firstIndex { $0 > 0 } ?? 0
        max = histogram.lastIndex { $0 > 0 } ?? 0
        mean = n > 0 ? Double(sum) / Double(n) : 0
        var result: [String: Int] = [:]
        for p in [1, 5, 25, 50, 75, 95, 99] {
            let rank = Swift.max(1, Int((Double(p) / 100 * Double(n)).rounded(.up)))
            var seen = 0
            for (value, count) in histogram.enumerated() {
                seen += count
                if seen >= rank { result["p\(p)"] = value; break }
            }
        }
        percentiles = result
    }
}
