import Foundation
import Imaging
import Neural
import Testing
@testable import Training

private let (height, width) = (24, 32)

/// The golden plane after `operations`.
private func applied(_ operations: [SampledAugmentation.Operation], to plane: [Float] = Golden.shared.array("plane")) -> [Float] {
    var plane = plane, scratch = AugmentationScratch()
    let augmentation = SampledAugmentation(height: height, width: width, operations: operations)
    plane.withUnsafeMutableBufferPointer { augmentation.apply(to: $0.baseAddress!, scratch: &scratch) }
    return plane
}

private func matrix(_ values: [Double]) -> AffineMatrix {
    AffineMatrix(values[0], values[1], values[2], values[3], values[4], values[5])
}

private func expectSameMatrix(_ a: AffineMatrix, _ b: [Double], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let ours = [a.m00, a.m01, a.m02, a.m10, a.m11, a.m12]
    #expect(zip(ours, b).allSatisfy { abs($0 - $1) < 1e-9 }, "\(what): \(ours), expected \(b)", sourceLocation: sourceLocation)
}

@Test func flipsAreExact() {
    #expect(applied([.horizontalFlip]) == Golden.shared.array("horizontal_flip"))
    #expect(applied([.verticalFlip]) == Golden.shared.array("vertical_flip"))
    #expect(applied([.horizontalFlip, .horizontalFlip]) == Golden.shared.array("plane"))
}

@Test func warpMatchesOpenCVWarpAffine() {
    var plane = Golden.shared.array("plane"), scratch = AugmentationScratch()
    let augmentation = SampledAugmentation(height: height, width: width, operations: [])
    plane.withUnsafeMutableBufferPointer {
        augmentation.warp($0.baseAddress!, by: matrix(Golden.shared.numbers("warp_matrix")), &scratch)
    }
    expectClose(plane, Golden.shared.array("warp"), atol: 1e-5, "warpAffine")
}

@Test func shiftScaleRotateMatchesAlbumentations() {
    let golden = Golden.shared
    let (angle, scale, dx, dy) = (golden.value("shift_scale_rotate", "angle"), golden.value("shift_scale_rotate", "scale"),
                                  golden.value("shift_scale_rotate", "dx"), golden.value("shift_scale_rotate", "dy"))
    expectSameMatrix(.shiftScaleRotate(angle: angle, scale: scale, dx: dx, dy: dy, width: width, height: height),
                     golden.numbers("shift_scale_rotate_matrix"), "matrix")
    expectClose(applied([.shiftScaleRotate(angle: angle, scale: scale, dx: dx, dy: dy)]), golden.array("shift_scale_rotate"),
                atol: 1e-5, "shift_scale_rotate")
}

@Test func affineMatchesAlbumentations() {
    let golden = Golden.shared
    func draw(_ key: String) -> Double { golden.value("affine", key) }
    // The fixture's translations are fractions of the plane; ours are pixels.
    let parameters = AffineParameters(translateX: draw("translateX") * Double(width), translateY: draw("translateY") * Double(height),
                                      shearX: draw("shearX"), shearY: draw("shearY"), scaleX: draw("scaleX"),
                                      scaleY: draw("scaleY"), rotate: draw("rotate"))
    expectSameMatrix(.affine(parameters, width: width, height: height), golden.numbers("affine_matrix"), "matrix")
    expectClose(applied([.affine(parameters)]), golden.array("affine"), atol: 1e-5, "affine")
}

@Test func inverseUndoesTheMatrix() {
    let m = matrix(Golden.shared.numbers("warp_matrix")), inverse = m.inverted()
    let (x, y) = (5.5, -3.25)
    let (u, v) = (m.m00 * x + m.m01 * y + m.m02, m.m10 * x + m.m11 * y + m.m12)
    #expect(abs(inverse.m00 * u + inverse.m01 * v + inverse.m02 - x) < 1e-12)
    #expect(abs(inverse.m10 * u + inverse.m11 * v + inverse.m12 - y) < 1e-12)
}

@Test func remapMatchesOpenCV() {
    let golden = Golden.shared
    let source = golden.array("plane"), mapX = golden.array("remap_x"), mapY = golden.array("remap_y")
    var output = [Float](repeating: .nan, count: height * width)
    output.withUnsafeMutableBufferPointer {
        remap(source, height: height, width: width, mapX: mapX, mapY: mapY, into: $0.baseAddress!)
    }
    expectClose(output, golden.array("remap"), atol: 1e-5, "remap")
}

@Test(arguments: [5, 4])
func gridDistortionMatchesAlbumentations(steps: Int) {
    let golden = Golden.shared
    let group = golden.values("grid\(steps)")
    let xSteps = (group["xSteps"] as! [NSNumber]).map(\.doubleValue), ySteps = (group["ySteps"] as! [NSNumber]).map(\.doubleValue)
    #expect(SampledAugmentation.gridMap(length: width, stretches: xSteps) == golden.array("grid\(steps)_columns"))
    #expect(SampledAugmentation.gridMap(length: height, stretches: ySteps) == golden.array("grid\(steps)_rows"))
    expectClose(applied([.gridDistortion(xSteps: xSteps, ySteps: ySteps)]), golden.array("grid\(steps)"), atol: 1e-5, "grid \(steps)")
}

@Test(arguments: ["optical_barrel", "optical_pincushion"])
func opticalDistortionMatchesAlbumentations(_ name: String) {
    let golden = Golden.shared
    let operation = SampledAugmentation.Operation.opticalDistortion(k: golden.value(name, "k"), dx: golden.value(name, "dx"),
                                                                    dy: golden.value(name, "dy"))
    expectClose(applied([operation]), golden.array(name), atol: 1e-5, name)
}

@Test(arguments: ["brightness_contrast", "brightness_contrast_clipped"])
func brightnessContrastMatchesAlbumentations(_ name: String) {
    let golden = Golden.shared
    let operation = SampledAugmentation.Operation.brightnessContrast(alpha: golden.value(name, "alpha"), beta: golden.value(name, "beta"))
    expectClose(applied([operation]), golden.array(name), atol: 1e-6, name)
}

@Test func coarseDropoutZeroesItsHolesOnly() {
    let holes = [PixelRect(x: 0, y: 0, width: 3, height: 2), PixelRect(x: 20, y: 10, width: 12, height: 14)]
    let plane = Golden.shared.array("plane"), out = applied([.coarseDropout(holes: holes)])
    for y in 0..<height {
        for x in 0..<width {
            let inHole = holes.contains { x >= $0.x && x < $0.maxX && y >= $0.y && y < $0.maxY }
            #expect(out[y * width + x] == (inHole ? 0 : plane[y * width + x]), "(\(x), \(y))")
        }
    }
}

@Test func sameSeedSameAugmentationOtherSeedAnother() {
    func run(_ seed: UInt64) -> (SampledAugmentation, [Float]) {
        let random = Random(seed: seed)
        let sampled = (0..<4).map { _ in AugmentationConfig.heavy.sample(height: height, width: width, using: random) }
        return (sampled[3], applied(sampled[3].operations))
    }
    let (first, firstPlane) = run(7), (again, againPlane) = run(7), (other, otherPlane) = run(8)
    #expect(first == again)
    #expect(firstPlane == againPlane)
    #expect(first != other)
    #expect(firstPlane != otherPlane)
}

/// How often each transform fires over `draws` samples of `config`, by name.
private func firingRates(_ config: AugmentationConfig, draws: Int) -> [String: Double] {
    let random = Random(seed: 42)
    var counts = [String: Int]()
    for _ in 0..<draws {
        for operation in config.sample(height: height, width: width, using: random).operations {
            let name: String
            switch operation {
            case .horizontalFlip: name = "horizontal_flip"
            case .verticalFlip: name = "vertical_flip"
            case .shiftScaleRotate(let angle, let scale, let dx, let dy):
                name = "shift_scale_rotate"
                #expect(abs(angle) <= 15 && abs(scale - 1) <= 0.1 && abs(dx) <= 0.0625 && abs(dy) <= 0.0625)
            case .affine: name = "affine"
            case .opticalDistortion(let k, _, _):
                name = "optical_distortion"
                #expect(abs(k) <= 0.05)
            case .gridDistortion(let xSteps, let ySteps):
                name = "grid_distortion"
                #expect(xSteps.count == 6 && (xSteps + ySteps).allSatisfy { abs($0 - 1) <= 0.3 })
            case .brightnessContrast: name = "brightness_contrast"
            case .coarseDropout(let holes):
                name = "coarse_dropout"
                #expect((1...8).contains(holes.count))
                #expect(holes.allSatisfy { $0.x >= 0 && $0.y >= 0 && $0.maxX <= width && $0.maxY <= height })
            }
            counts[name, default: 0] += 1
        }
    }
    return counts.mapValues { Double($0) / Double(draws) }
}

@Test func presetsFireAtTheirProbabilities() {
    // 2000 draws at p = 0.5: the standard deviation of a rate is 0.011, the bounds are over 5 of them.
    #expect(firingRates(.none, draws: 200).isEmpty)
    let baseline = firingRates(.baseline, draws: 2000)
    #expect(Set(baseline.keys) == ["horizontal_flip", "shift_scale_rotate"])
    #expect(baseline.values.allSatisfy { abs($0 - 0.5) < 0.06 }, "\(baseline)")
    let heavy = firingRates(.heavy, draws: 2000)
    #expect(Set(heavy.keys) == Set(AugmentationConfig.transformNames))
    #expect(heavy.values.allSatisfy { abs($0 - 0.5) < 0.06 }, "\(heavy)")
}

@Test func configFromParams() throws {
    #expect(try AugmentationConfig(preset: "baseline") == .baseline)
    #expect(AugmentationConfig.baseline.probabilities.filter { $0.value > 0 } == ["horizontal_flip": 0.5, "shift_scale_rotate": 0.5])
    var expected = AugmentationConfig.heavy
    expected.coarseDropout.probability = 0
    expected.horizontalFlip.probability = 0.25
    #expect(try AugmentationConfig(preset: "heavy", probabilities: ["coarse_dropout": 0, "horizontal_flip": 0.25]) == expected)
    let rates = firingRates(try AugmentationConfig(preset: "none", probabilities: ["vertical_flip": 1]), draws: 50)
    #expect(rates == ["vertical_flip": 1])
}

@Test func misspeltParamsNameTheValidOnes() {
    func message(_ body: () throws -> AugmentationConfig) -> String {
        do { _ = try body(); return "" } catch { return "\(error)" }
    }
    #expect(message { try AugmentationConfig(preset: "hevy") }
        == "unknown augmentation preset 'hevy' (valid: none, baseline, heavy); did you mean 'heavy'?")
    #expect(message { try AugmentationConfig(preset: "strong") } == "unknown augmentation preset 'strong' (valid: none, baseline, heavy)")
    let transform = message { try AugmentationConfig(preset: "none", probabilities: ["horizontal_flp": 0.5]) }
    #expect(transform.hasPrefix("unknown augmentation 'horizontal_flp' (valid: horizontal_flip, vertical_flip, "))
    #expect(transform.hasSuffix("; did you mean 'horizontal_flip'?"))
    #expect(message { try AugmentationConfig(preset: "none", probabilities: ["affine": 1.5]) }
        == "augmentation 'affine': probability must be in 0...1, found 1.5")
}
