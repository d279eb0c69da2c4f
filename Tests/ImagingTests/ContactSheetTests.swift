import Foundation
import Shards
import Testing
@testable import Imaging

@Test func sheetDrawsThumbnailsLabelsBoxAndLine() throws {
    let mlo = Phantom(pectoral: (150, 260), seed: 5)
    let cc = Phantom(pectoral: nil, seed: 6)
    // An uncropped right MLO as decode would give it (chest wall on the right): the overlay is computed.
    let items = [
        ContactSheet.Item(key: "10/1", image: mlo.image.flippedHorizontally(), metadata: ["view": "MLO", "laterality": "R"], overlay: true),
        ContactSheet.Item(key: "10/2", image: cc.image, metadata: ["view": "CC", "laterality": "L"], overlay: true),
        ContactSheet.Item(key: "10/3", image: GrayImage(width: 50, height: 80, bits: 12), metadata: ["view": "CC"], overlay: true),
    ]
    #expect(items[0].box != nil && items[0].line != nil && items[1].box != nil && items[1].line == nil)
    #expect(items[2].note == "no breast found")
    // The computed box is in the displayed (unflipped) frame: the chest wall, hence the box, is on the right.
    #expect(items[0].box!.maxX == mlo.image.width && items[0].line!.x0 > Double(mlo.image.width) / 2)

    var layout = ContactSheet.Layout()
    layout.columns = 3
    layout.title = "phantoms"
    let sheet = ContactSheet.render(items, layout: layout)
    #expect(sheet.width == 3 * (layout.thumbnailWidth + layout.gap) + layout.gap)
    #expect(sheet.pixels.count == sheet.width * sheet.height * 3)
    let colors = Set((0..<sheet.width * sheet.height).map { sheet[$0 % sheet.width, $0 / sheet.width] })
    #expect(colors.contains(.green) && colors.contains(.red) && colors.contains(.orange))
    let path = try temporaryDirectory() + "/sheet.png"
    try PNG.write(sheet, to: path)
    let back = try PNG.read(path)
    #expect(back.width == sheet.width && back.channels == 3)
    if let keep = ProcessInfo.processInfo.environment["MAMMOFLOW_KEEP_SHEET"] { try PNG.write(sheet, to: keep) }
}

@Test func lineClippingKeepsThePartInsideTheImage() {
    let clipped = ContactSheet.clip(LineSegment(x0: 300, y0: 0, x1: 0, y1: 150), width: 100, height: 200)!
    #expect(abs(clipped.0.x - 100) < 1e-9 && abs(clipped.0.y - 100) < 1e-9)
    #expect(abs(clipped.1.x) < 1e-9 && abs(clipped.1.y - 150) < 1e-9)
    #expect(ContactSheet.clip(LineSegment(x0: 500, y0: 0, x1: 0, y1: 500), width: 100, height: 100) == nil)
}
