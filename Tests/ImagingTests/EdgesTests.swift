import Foundation
import Shards
import Testing
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
