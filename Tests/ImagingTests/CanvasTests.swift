import Testing
@testable import Imaging

@Test func rectanglesLinesAndPolygonsCoverTheRightPixels() {
    var c = RGBImage(width: 20, height: 10, background: .black)
    c.stroke(PixelRect(x: 2, y: 2, width: 6, height: 5), .red)
    #expect(c[2, 2] == .red && c[7, 6] == .red && c[4, 4] == .black && c[8, 2] == .black)

    c.line(0, 9, 19, 9, .green)
    #expect((0..<20).allSatisfy { c[$0, 9] == .green })
    c.line(10, 0, 14, 4, .blue)  // 45 degrees: exactly the diagonal
    #expect((0...4).allSatisfy { c[10 + $0, $0] == .blue } && c[11, 0] == .black)

    // Right triangle with legs of 8: pixel centres with x + y <= 8, except the bottom vertex's row
    // (rows are half-open at the bottom, so shared vertices are not filled twice).
    var t = RGBImage(width: 12, height: 12, background: .black)
    t.fillPolygon([(0, 0), (8, 0), (0, 8)], .white)
    let filled = (0..<144).filter { t[$0 % 12, $0 / 12] == .white }.count
    let expected = (0..<12).flatMap { y in (0..<12).map { x in (x, y) } }.filter { x, y in x + y <= 8 && y < 8 }.count
    #expect(filled == expected)
    #expect(t[0, 0] == .white && t[7, 0] == .white && t[5, 5] == .black)
}

@Test func textUsesTheBitmapFont() {
    var c = RGBImage(width: 40, height: 10, background: .white)
    c.text("I", x: 1, y: 1, .black)
    // 'I' is a bar of three at the top and bottom and a stem in the middle column.
    #expect(c[2, 1] == .black && c[3, 1] == .black && c[4, 1] == .black && c[1, 1] == .white)
    #expect(c[3, 4] == .black && c[2, 4] == .white)
    #expect(RGBImage.textWidth("abc") == 17 && RGBImage.textWidth("abc", scale: 2) == 34)
    var d = RGBImage(width: 10, height: 10)
    d.text("\u{1F600}", x: 0, y: 0, .black)  // unknown character: drawn as '?', not a crash
    #expect(d.pixels.contains(0))
}

@Test func grayImageConversions() {
    let image = GrayImage(width: 3, height: 2, bits: 12, pixels: [0, 4095, 2048, 1, 2, 3])
    #expect(GrayImage(image.payload) == image)
    #expect(image.eightBit() == [0, 255, 128, 0, 0, 0])
    #expect(image.flippedHorizontally().pixels == [2048, 4095, 0, 3, 2, 1])
    #expect(image.cropped(to: PixelRect(x: 1, y: 0, width: 2, height: 2)).pixels == [4095, 2048, 2, 3])
    #expect(PixelRect(x: 0, y: 0, width: 10, height: 10).iou(PixelRect(x: 5, y: 0, width: 10, height: 10)) == 50.0 / 150.0)
}
