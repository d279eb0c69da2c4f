import Shards

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
