import Imaging
import Neural
import Shards
import Testing
@testable import Training

/// A 24 x 32 model input without normalisation, as make_golden.py assumes.
private let input = try! ModelInput(height: 24, width: 32, mean: 0, std: 1)

private func written(_ image: GrayImage) -> [Float] {
    var plane = [Float](repeating: .nan, count: input.count)
    plane.withUnsafeMutableBufferPointer { input.write(image, into: $0.baseAddress!) }
    return plane
}

private func goldenImage(_ name: String) -> GrayImage {
    let golden = Golden.shared
    return GrayImage(width: Int(golden.value(name, "width")), height: Int(golden.value(name, "height")),
                     bits: Int(golden.value(name, "bits")), pixels: golden.array(name + "_image").map { UInt16($0) })
}

@Test(arguments: ["resize_fraction", "resize_integer", "resize_enlarge"])
func resizeMatchesOpenCV(_ name: String) {
    // cv2.resize INTER_AREA (shrinking 90x40 by 3.75 and 3.64, 48x32 by 2) or INTER_LINEAR (7x10 enlarged),
    // placed at the left, centred vertically, zeros elsewhere.
    expectClose(written(goldenImage(name)), Golden.shared.array(name), atol: 2e-6, name)
}

@Test func largeReductionMatchesOpenCVArea() {
    // 1203 x 301 to 24 x 6, a reduction by about 50: every input pixel weighs in, none twice.
    let (width, height) = (301, 1203)
    var pixels = [UInt16](repeating: 0, count: width * height)
    for y in 0..<height {
        for x in 0..<width { pixels[y * width + x] = UInt16((x * 37 + y * 91 + (x * y) % 113) % 4096) }
    }
    let image = GrayImage(width: width, height: height, bits: 12, pixels: pixels)
    expectClose(written(image), Golden.shared.array("resize_large"), atol: 2e-6, "resize_large")
}

@Test func payloadAndImageWriteTheSamePlane() {
    let image = goldenImage("resize_fraction")
    var plane = [Float](repeating: .nan, count: input.count)
    plane.withUnsafeMutableBufferPointer { input.write(image.payload, into: $0.baseAddress!) }
    #expect(plane == written(image))
}

@Test func placementIsLeftAnchoredAndVerticallyCentred() {
    #expect(input.placement(imageWidth: 40, imageHeight: 90) == PixelRect(x: 0, y: 0, width: 11, height: 24))
    // A wide image fills the width and sits in the middle rows.
    #expect(input.placement(imageWidth: 200, imageHeight: 50) == PixelRect(x: 0, y: 8, width: 32, height: 8))
    #expect(input.placement(imageWidth: 1, imageHeight: 1000) == PixelRect(x: 0, y: 0, width: 1, height: 24))
}

@Test func samplesAreScaledByTheLargestValueOfTheirBits() {
    for bits in [8, 12, 16] {
        let maxValue = UInt16((1 << bits) - 1)
        let plane = written(GrayImage(width: 64, height: 48, bits: bits, filledWith: maxValue))
        // 64 x 48 fits as 32 x 24: all of it is image.
        #expect(plane.allSatisfy { abs($0 - 1) < 1e-6 }, "\(bits) bits")
    }
    let half = written(GrayImage(width: 32, height: 24, bits: 8, filledWith: 51))
    #expect(half.allSatisfy { abs($0 - 0.2) < 1e-7 })
}

@Test func normalizeMapsToStandardScores() throws {
    let model = try ModelInput(height: 2, width: 2, mean: 0.25, std: 0.5)
    var plane: [Float] = [0, 0.25, 0.5, 1]
    plane.withUnsafeMutableBufferPointer { model.normalize($0.baseAddress!) }
    #expect(plane == [-0.5, 0, 0.5, 1.5])
}

@Test func invalidParametersAreReported() {
    #expect(throws: ModelInput.InvalidParameters.self) { try ModelInput(height: 0, width: 32, mean: 0, std: 1) }
    #expect(throws: ModelInput.InvalidParameters.self) { try ModelInput(height: 24, width: 32, mean: 0, std: 0) }
    #expect(throws: ModelInput.InvalidParameters.self) { try ModelInput(height: 24, width: 32, mean: .nan, std: 1) }
}

@Test func loaderStepsNormaliseAfterAugmenting() throws {
    let model = try ModelInput(height: 24, width: 32, mean: 0.3, std: 0.2)
    let payload = goldenImage("resize_fraction").payload
    func run(_ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var plane = [Float](repeating: .nan, count: model.count)
        plane.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        return plane
    }
    let plain = model.loaderSteps(augmentation: nil)
    #expect(plain.augment == nil && model.loaderSteps(augmentation: AugmentationConfig.none).augment == nil)
    #expect(run { plain.prepare(payload, $0) } == run { model.write(payload, into: $0); model.normalize($0) })

    let steps = model.loaderSteps(augmentation: .heavy)
    let augmented = run { plane in
        steps.prepare(payload, plane)
        steps.augment!(plane, Random(seed: 11))
    }
    let byHand = run { plane in
        var scratch = AugmentationScratch()
        model.write(payload, into: plane)
        AugmentationConfig.heavy.sample(height: 24, width: 32, using: Random(seed: 11)).apply(to: plane, scratch: &scratch)
        model.normalize(plane)
    }
    #expect(augmented == byHand)
    // A vertical flip keeps the right-hand padding black, (0 - mean) / std once normalised.
    var flip = AugmentationConfig()
    flip.verticalFlip.probability = 1
    let flipped = run { plane in
        let flipSteps = model.loaderSteps(augmentation: flip)
        flipSteps.prepare(payload, plane)
        flipSteps.augment!(plane, Random(seed: 1))
    }
    #expect((0..<24).allSatisfy { y in flipped[y * 32 + 11..<y * 32 + 32].allSatisfy { abs($0 + 1.5) < 1e-6 } })
}
