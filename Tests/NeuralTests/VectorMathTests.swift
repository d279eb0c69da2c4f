import Foundation
import Testing
@testable import Neural

/// The vector exp behind SiLU, sigmoid and Mish against libm (double precision) over the float range it serves.
@Suite struct VectorMathTests {
    @Test func vectorExpMatchesLibm() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let lanes = Lanes((0..<8).map { x + Float($0) * 0.0137 })
            let e = exp(lanes)
            for j in 0..<8 {
                let reference = Foundation.exp(Double(lanes[j]))
                worst = max(worst, abs(Double(e[j]) - reference) / reference)
            }
            x += 0.11
        }
        #expect(worst < 4e-7, "worst relative error \(worst)")
    }

    @Test func vectorExpSaturatesInsteadOfOverflowing() {
        let e = exp(Lanes(-1000, -200, -87.5, 0, 1, 88.5, 200, 1000))
        for j in 0..<8 { #expect(e[j].isFinite && e[j] > 0, "lane \(j): \(e[j])") }
        #expect(e[3] == 1 && abs(e[4] - Float(M_E)) <= Float(M_E).ulp)
        let s = logistic(Lanes(-1000, -30, -1, 0, 1, 30, 1000, 5))
        #expect(s[0] >= 0 && s[0] < 1e-37 && s[3] == 0.5 && s[6] == 1 && abs(s[2] + s[4] - 1) < 1e-7)
    }
}
