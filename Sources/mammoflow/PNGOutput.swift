import Imaging
import Shards

/// Writes an image record as an 8-bit gray PNG for looking at: samples rescaled from 0 ..< 2^bits to 0...255
/// (a 12-bit image written as 16-bit would look black in most viewers).
func writePNG(_ image: ImagePayload, to path: String) throws {
    let gray = GrayImage(image)
    try PNG.write(GrayImage(width: gray.width, height: gray.height, bits: 8, pixels: gray.eightBit().map(UInt16.init)), to: path)
}
