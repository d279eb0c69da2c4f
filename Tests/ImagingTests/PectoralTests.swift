import Foundation
import Testing
@testable import Imaging

/// Fractions of the true muscle and of the breast tissue that removal filled.
func removalScores(_ phantom: Phantom, _ after: GrayImage) -> (muscle: Double, tissue: Double) {
    var muscle = 0, muscleRemoved = 0, tissue = 0, tissueRemoved = 0
    for i in 0..<phantom.truth.count {
        let changed = after.pixels[i] != phantom.image.pixels[i]
        if phantom.truth[i] == 2 { muscle += 1; if changed { muscleRemoved += 1 } }
        if phantom.truth[i] == 1 { tissue += 1; if changed { tissueRemoved += 1 } }
    }
    return (Double(muscleRemoved) / Double(max(muscle, 1)), Double(tissueRemoved) / Double(max(tissue, 1)))
}

@Test(arguments: [(150.0, 260.0), (220.0, 330.0), (90.0, 300.0)])
func pectoralWedgeIsRemoved(wedge: (Double, Double)) throws {
    let phantom = Phantom(pectoral: (wedge.0, wedge.1), seed: 3)
    var image = phantom.image
    let outcome = PectoralRemoval.remove(from: &image)
    guard case .removed(let line, let pixels) = outcome else {
        Issue.record("no line found: \(outcome)")
        return
    }
    let scores = removalScores(phantom, image)
    #expect(scores.muscle >= 0.9, "line \(line), removed \(pixels) px")
    #expect(scores.tissue <= 0.02, "line \(line)")
    let s = line.segment
    #expect(abs(s.x0 - wedge.0) < 0.06 * wedge.0 && abs(s.y1 - wedge.1) < 0.06 * wedge.1, "\(s)")
}

@Test func houghFindsAStraightEdgeAtItsAngleAndDistance() {
    // A bright half-plane x cos 40 + y sin 40 <= 150 in a 400x400 image.
    let theta = 40.0 * .pi / 180
    var image = GrayImage(width: 400, height: 400, bits: 8)
    for y in 0..<400 { for x in 0..<400 where Double(x) * cos(theta) + Double(y) * sin(theta) <= 150 { image[x, y] = 200 } }
    var options = PectoralRemoval.Options()
    options.referenceHeight = 400
    let lines = PectoralRemoval.candidateLines(image, options: options)
    let best = lines.max { $0.votes < $1.votes }
    #expect(best != nil && abs(best!.angle - 40) <= 1 && abs(best!.distance - 150) <= 2, "\(lines)")
}

@Test func aFlatImageHasNoPectoralLine() {
    var image = GrayImage(width: 200, height: 256, bits: 12, filledWith: 1000)
    #expect(PectoralRemoval.remove(from: &image) == .unchanged(reason: "no line with angle 1.0-89.0 degrees within the distance window"))
    #expect(image.pixels.allSatisfy { $0 == 1000 })
}

@Test func anEmptyOrAbsurdWindowFindsNothingWithoutCrashing() {
    let image = Phantom(pectoral: (150, 260)).image
    var inverted = PectoralRemoval.Options()
    inverted.minAngle = 50
    inverted.maxAngle = 10
    #expect(PectoralRemoval.candidateLines(image, options: inverted).isEmpty)
    var huge = PectoralRemoval.Options()
    huge.maxDistance = 1e12  // clamped to the image's size, not allocated
    #expect(!PectoralRemoval.candidateLines(image, options: huge).isEmpty)
    #expect(PectoralRemoval.candidateLines(GrayImage(width: 2, height: 2, bits: 8)).isEmpty)
}

@Test func vectorVotesEqualTheScalarRounding() {
    // The vector floor in `vote` against the plain Float expression rounded by conversion, including
    // distances that land exactly on .5 (angle 60: cos is exactly 0.5 in Float).
    var rng = SplitMix(7)
    let voters = (0..<500).map { _ in (x: Int32(rng.next() % 900), y: Int32(rng.next() % 1100)) } + [(x: 0, y: 0), (x: 3, y: 0), (x: 899, y: 0)]
    let angles = Array(1...89), maxD = 384, stride = maxD + 1
    var fast = [Int32](repeating: 0, count: angles.count * stride), plain = fast
    fast.withUnsafeMutableBufferPointer { PectoralRemoval.vote(voters, angles: angles, maxDistance: maxD, into: $0.baseAddress!) }
    for p in voters {
        for (a, angle) in angles.enumerated() {
            let c = Float(cos(Double(angle) * .pi / 180)), s = Float(sin(Double(angle) * .pi / 180))
            let d = Int(Float(p.x) * c + Float(p.y) * s + 0.5)
            if d <= maxD { plain[a * stride + d] += 1 }
        }
    }
    #expect(fast == plain)
}
