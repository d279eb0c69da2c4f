import Foundation
import Testing
@testable import Synthesis

struct TextureTests {
    /// For a field with power spectrum f^-beta (2 < beta < 4), the structure function
    /// D(L) = E[(f(x + L) - f(x))^2] grows as L^(beta - 2) (a fractional Brownian surface with H = (beta - 2) / 2).
    /// The fitted exponent between lags 4 and 32 follows beta.
    @Test(arguments: [2.5, 3.0, 3.4])
    func structureFunctionFollowsBeta(beta: Double) {
        var rng = SynthRandom(seed: 1, UInt64(beta * 10))
        let n = 512
        let field = Field.powerLawNoise(width: n, height: n, beta: beta, rng: &rng)
        func structure(_ lag: Int) -> Double {
            var sum = 0.0, count = 0
            for y in stride(from: 0, to: n, by: 2) {
                for x in 0..<(n - lag) {
                    let d = Double(field[x + lag, y] - field[x, y])
                    sum += d * d
                    count += 1
                }
            }
            return sum / Double(count)
        }
        let exponent = log(structure(32) / structure(4)) / log(8)
        #expect(abs(exponent - (beta - 2)) < 0.3, "beta \(beta): structure-function exponent \(exponent)")
        let mean = field.values.reduce(0, +) / Float(field.values.count)
        #expect(abs(mean) < 1e-3)
    }
}
