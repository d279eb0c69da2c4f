import Foundation
import Shards
import Testing
import Synthesis
@testable import Imaging

/// Golden values from the study's scikit-image pipeline: Fixtures/Imaging/make_pectoral_golden.py.
struct PectoralGolden: Decodable {
    struct Line: Decodable { let angle: Double; let distance: Double; let votes: Int }
    let edges: Int
    let support: Int
    let nearest: Line?
}

@Test func cannyMatchesScikitImage() throws {
    let input = try PNG.readGray("\(fixtures)/pectoral_input.png")
    let golden = try PNG.read("\(fixtures)/canny_golden.png")
    let edges = Edges.canny(input, sigma: 2.25, threads: 2)
    var both = 0, ours = 0, theirs = 0
    for i in 0..<edges.count {
        let a = edges[i] != 0, b = golden.samples[i] != 0
        if a && b { both += 1 }
        if a { ours += 1 }
        if b { theirs += 1 }
    }
    // Float32 here, float64 there: ties at the thresholds may differ (none do on this fixture: 1.0).
    let jaccard = Double(both) / Double(ours + theirs - both)
    #expect(jaccard >= 0.99, "ours \(ours), scikit-image \(theirs), shared \(both)")
}

@Test func pectoralLineMatchesTheStudysPipeline() throws {
    let input = try PNG.readGray("\(fixtures)/pectoral_input.png")
    let golden = try JSONDecoder().decode(PectoralGolden.self, from: Data(try readFile("\(fixtures)/pectoral_golden.json")))
    let edges = Edges.canny(input, sigma: 2.25)
    let support = Edges.sobelSupport(ofEdges: edges, width: input.width, height: input.height)
    #expect(abs(support.count - golden.support) <= golden.support / 100, "\(support.count) vs \(golden.support)")
    var image = input
    guard case .removed(let line, _) = PectoralRemoval.remove(from: &image), let expected = golden.nearest else {
        Issue.record("no line found")
        return
    }
    #expect(abs(line.angle - expected.angle) <= 1 && abs(line.distance - expected.distance) <= 2, "\(line) vs \(expected)")
}

@Test func gaussianSmoothingKeepsFlatImagesFlatUpToTheBorders() {
    // Renormalised border weights: a constant image stays constant everywhere, edges included.
    let flat = GrayImage(width: 31, height: 17, bits: 12, filledWith: 2000)
    let smoothed = Edges.gaussianSmooth(flat, sigma: 2.25)
    #expect(smoothed.allSatisfy { abs($0 - 2000.0 / 4095.0) < 1e-5 })
    let kernel = Edges.gaussianKernel(sigma: 2.25)
    #expect(kernel.count == 19 && abs(kernel.reduce(0, +) - 1) < 1e-6)
}

@Test func cannyIsTheSameOnOneThreadOrSeveral() throws {
    // Bands start their row rings at different rows (and pair rows differently): the edges must not change.
    let input = try PNG.readGray("\(fixtures)/pectoral_input.png")
    let one = Edges.canny(input, sigma: 2.25, threads: 1)
    #expect(one.contains(1))
    #expect(Edges.canny(input, sigma: 2.25, threads: 2) == one)
    #expect(Edges.canny(input, sigma: 2.25, threads: 1) == one)  // a reused workspace gives the same again
}

@Test func vectorSuppressionAgreesWithThePixelByPixelOne() {
    // Values on a coarse grid, so that ties (equal neighbours, equal gradient components, zero gradients)
    // are common: the eight-lane selects must decide each of them as the scalar branches do.
    var generator = SynthRandom(seed: 5)
    let w = 64
    let planes = (0..<6 * w).map { _ in Float(Int.random(in: 0...4, using: &generator)) / 4 }  // (6, w)
    planes.withUnsafeBufferPointer { buffer in
        let p = buffer.baseAddress!
        let rows = SuppressionRows(above: p, row: p + w, below: p + 2 * w, up: p + 3 * w, mid: p + 4 * w, down: p + 5 * w, width: w)
        for x in 1..<w - 8 {
            let lanes = rows.localMaxima(lanesFrom: x, reaching: 0.25)
            for k in 0..<8 {
                let expected = rows.mid[x + k] >= 0.25 && rows.isLocalMaximum(x + k)
                #expect((lanes >> UInt32(k)) & 1 == (expected ? 1 : 0), "x \(x + k)")
            }
        }
    }
}
