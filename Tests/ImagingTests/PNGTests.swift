import Foundation
import Testing
@testable import Imaging

@Test func sixteenBitGrayRoundTripsThroughTheReferenceReader() throws {
    // 12-bit values spread over the range, odd size so row strides are not powers of two.
    let w = 37, h = 19
    let pixels = (0..<w * h).map { UInt16(($0 * 2741 + ($0 / w) * 13) % 4096) }
    let image = GrayImage(width: w, height: h, bits: 12, pixels: pixels)
    let path = try temporaryDirectory() + "/g16.png"
    try PNG.write(image, to: path)

    let reference = try ReferencePNG(path: path)
    #expect(reference.width == w && reference.height == h && reference.depth == 16 && reference.color == 0)
    #expect(reference.samples == pixels.map(Int.init))  // big-endian on disk, unchanged values
    #expect(reference.sbit == [12])
    #expect(!reference.chunks.contains("gAMA") && !reference.chunks.contains("cHRM"), "no gamma surprises")
    #expect(try PNG.readGray(path) == GrayImage(width: w, height: h, bits: 16, pixels: pixels))
}

@Test func eightBitGrayAndRGBRoundTrip() throws {
    let dir = try temporaryDirectory()
    let gray = GrayImage(width: 9, height: 5, bits: 8, pixels: (0..<45).map { UInt16($0 * 5) })
    try PNG.write(gray, to: "\(dir)/g8.png")
    let g = try ReferencePNG(path: "\(dir)/g8.png")
    #expect(g.depth == 8 && g.color == 0 && g.samples == gray.pixels.map(Int.init) && g.sbit == nil)

    var rgb = RGBImage(width: 6, height: 4, background: RGB(1, 2, 3))
    rgb[5, 3] = RGB(250, 128, 7)
    try PNG.write(rgb, to: "\(dir)/c8.png")
    let c = try ReferencePNG(path: "\(dir)/c8.png")
    #expect(c.depth == 8 && c.color == 2 && c.width == 6 && c.height == 4)
    #expect(Array(c.samples.prefix(3)) == [1, 2, 3] && Array(c.samples.suffix(3)) == [250, 128, 7])
    let back = try PNG.read("\(dir)/c8.png")
    #expect(back.channels == 3 && back.samples == rgb.pixels.map(UInt16.init))
}

@Test func decodesEveryFilterTypeFromAnIndependentEncoder() throws {
    // Written by png_reference.py (rows cycle through filters 0-4).
    let gray = try PNG.read("\(fixtures)/gray16.png")
    #expect(gray.width == 23 && gray.height == 11 && gray.channels == 1 && gray.depth == 16)
    for y in 0..<11 { for x in 0..<23 {
        #expect(Int(gray.samples[y * 23 + x]) == referencePattern(x: x, y: y, c: 0, depth: 16))
    } }
    let rgb = try PNG.read("\(fixtures)/rgb8.png")
    #expect(rgb.width == 13 && rgb.height == 7 && rgb.channels == 3 && rgb.depth == 8)
    for y in 0..<7 { for x in 0..<13 { for c in 0..<3 {
        #expect(Int(rgb.samples[(y * 13 + x) * 3 + c]) == referencePattern(x: x, y: y, c: c, depth: 8))
    } } }
}

@Test func badPNGIsATypedErrorNamingTheFile() throws {
    #expect(throws: PNG.Error.self) { try PNG.decode(Array("not a png".utf8), file: "x.png") }
    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/rgb8.png")))
    bytes.removeLast(40)  // truncated inside IDAT/IEND
    do {
        _ = try PNG.decode(bytes, file: "cut.png")
        Issue.record("a truncated PNG decoded")
    } catch let error as PNG.Error {
        #expect(error.file == "cut.png" && !error.reason.isEmpty)
    }
}
