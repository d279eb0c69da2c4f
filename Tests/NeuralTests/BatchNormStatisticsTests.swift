import Testing
@testable import Neural

/// Batch statistics computed in one pass stay accurate when the mean dwarfs the spread (the case where
/// E[x^2] - E[x]^2 in float would cancel to noise).
@Suite struct BatchNormStatisticsTests {
    @Test func largeOffsetSmallSpread() {
        let rng = Random(seed: 3)
        let x = Tensor([4, 33, 17, 12])
        for i in 0..<x.count { x[i] = 1000 + Float(i % 12) * 10 + 0.01 * rng.normal() }
        let bn = BatchNorm(12, momentum: 1)
        _ = bn.forward(x)
        let rows = x.count / 12
        for ch in 0..<12 {
            var mean = 0.0, squares = 0.0
            for r in 0..<rows { mean += Double(x[r * 12 + ch]) }
            mean /= Double(rows)
            for r in 0..<rows { squares += (Double(x[r * 12 + ch]) - mean) * (Double(x[r * 12 + ch]) - mean) }
            let unbiased = squares / Double(rows - 1)
            #expect(abs(Double(bn.runningMean[ch]) - mean) < 1e-3, "mean \(ch)")
            #expect(abs(Double(bn.runningVar[ch]) - unbiased) < 1e-3 * unbiased, "variance \(ch): \(bn.runningVar[ch]) vs \(unbiased)")
        }
    }
}
