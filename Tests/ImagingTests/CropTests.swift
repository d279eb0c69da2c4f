import Testing
@testable import Imaging

@Test func cropFindsTheBreastNotTheLabelOrSpeckle() throws {
    let phantom = Phantom(pectoral: nil)
    for threshold in [BreastCrop.Threshold.fraction(20.0 / 255.0), .otsu] {
        let found = try BreastCrop.find(in: phantom.image, options: .init(threshold: threshold))
        #expect(found.box.iou(phantom.breastBox) >= 0.97, "\(threshold): \(found.box) vs \(phantom.breastBox)")
        #expect(found.box.x == 0, "the chest wall touches the left edge")
    }
}

@Test func orientationFollowsLateralityAndFallsBackToPixelMass() {
    let left = Phantom(pectoral: nil, label: false).image
    let right = left.flippedHorizontally()
    #expect(ChestWall.byPixelMass(left) == .left && ChestWall.byPixelMass(right) == .right)
    #expect(Orientation(laterality: "R", image: right).flip && !Orientation(laterality: "L", image: left).flip)
    #expect(Orientation(laterality: nil, image: right).flip && !Orientation(laterality: "?", image: left).flip)
    let odd = Orientation(laterality: "L", image: right)  // table and pixels disagree: the table wins
    #expect(!odd.flip && odd.disagree)
}

@Test func noBreastIsATypedRefusal() {
    let blank = GrayImage(width: 200, height: 300, bits: 12, filledWith: 30)
    #expect(throws: BreastCrop.NotFound.self) { try BreastCrop.find(in: blank) }
    // Only a label and speckle: too small to be a breast.
    var labelOnly = Phantom(pectoral: nil).image
    let phantom = Phantom(pectoral: nil)
    for i in 0..<labelOnly.pixels.count where phantom.truth[i] != 0 { labelOnly.pixels[i] = 30 }
    #expect(throws: BreastCrop.NotFound.self) { try BreastCrop.find(in: labelOnly) }
}

@Test func componentsAreEightConnected() {
    // Two diagonal pixels are one component; a pixel two columns away is another.
    var image = GrayImage(width: 6, height: 4, bits: 8)
    image[1, 1] = 200; image[2, 2] = 200; image[4, 2] = 200; image[4, 3] = 200; image[5, 0] = 200
    let components = Components.label(image, above: 100)
    #expect(components.map(\.area) == [2, 2, 1])
    #expect(components[0].box == PixelRect(x: 1, y: 1, width: 2, height: 2))
    #expect(components[1].box == PixelRect(x: 4, y: 2, width: 1, height: 2))
}

@Test func otsuSplitsTwoPopulations() {
    let pixels = [UInt16](repeating: 100, count: 500) + [UInt16](repeating: 900, count: 300)
    let t = Histogram(GrayImage(width: 800, height: 1, bits: 10, pixels: pixels)).otsuThreshold()
    #expect(t >= 100 && t < 900)
}
