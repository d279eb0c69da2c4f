import Testing
@testable import Imaging

/// A deterministic 16-bit test image with edges and gradients.
func texturedImage(width: Int, height: Int, bits: Int = 16) -> GrayImage {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let pixels = (0..<width * height).map { i -> UInt16 in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let x = i % width, y = i / width
        let smooth = (x * 37 + y * 91) % 40000
        return UInt16((smooth + Int(state >> 50)) % (1 << bits))
    }
    return GrayImage(width: width, height: height, bits: bits, pixels: pixels)
}

@Test(arguments: [2, 3, 4, 5])
func areaAverageIsTheRoundedBlockMean(factor: Int) {
    let image = texturedImage(width: 4 * factor * 3 + 2, height: 5 * factor + 1)  // remainders get dropped
    for threads in [1, 3] {
        let out = Resample.areaAverage(image, factor: factor, threads: threads)
        #expect(out.width == image.width / factor && out.height == image.height / factor && out.bits == 16)
        for oy in 0..<out.height { for ox in 0..<out.width {
            var sum = 0
            for dy in 0..<factor { for dx in 0..<factor { sum += Int(image[ox * factor + dx, oy * factor + dy]) } }
            let n = factor * factor
            #expect(Int(out[ox, oy]) == (sum + n / 2) / n)
        } }
    }
}

@Test func areaAverageKeepsFullScaleValues() {
    let white = GrayImage(width: 8, height: 8, bits: 16, filledWith: 65535)
    #expect(Resample.areaAverage(white, factor: 4).pixels == [65535, 65535, 65535, 65535])
}

@Test func resizeShrinksByAreaAndGrowsBilinearly() {
    // Shrinking 3 -> 2 pixels: output 0 covers inputs [0, 1.5): (a + b/2) / 1.5.
    let row = GrayImage(width: 3, height: 1, bits: 16, pixels: [300, 600, 900])
    #expect(Resample.resize(row, width: 2, height: 1).pixels == [400, 800])
    // Growing 2 -> 4: centres at -0.25, 0.25, 0.75, 1.25 of the input, clamped at the edges.
    let two = GrayImage(width: 2, height: 1, bits: 16, pixels: [100, 200])
    #expect(Resample.resize(two, width: 4, height: 1).pixels == [100, 125, 175, 200])
    // A constant image stays constant whatever the sizes, and integer factors take the exact path.
    let flat = GrayImage(width: 37, height: 23, bits: 12, filledWith: 4000)
    #expect(Resample.resize(flat, width: 11, height: 50).pixels.allSatisfy { $0 == 4000 })
    let image = texturedImage(width: 40, height: 24)
    #expect(Resample.resize(image, width: 10, height: 6) == Resample.areaAverage(image, factor: 4))
    // Mean is preserved by area shrinking (up to rounding).
    let small = Resample.resize(image, width: 13, height: 7, threads: 2)
    let meanIn = Double(image.pixels.reduce(0) { $0 + Int($1) }) / Double(image.pixels.count)
    let meanOut = Double(small.pixels.reduce(0) { $0 + Int($1) }) / Double(small.pixels.count)
    #expect(abs(meanIn - meanOut) < 1)
}
