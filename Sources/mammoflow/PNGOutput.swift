import Imaging
import Shards

/// Writes an image record as a PNG (16-bit gray, or 8-bit for images of 8 bits or fewer).
func writePNG(_ image: ImagePayload, to path: String) throws {
    try PNG.write(GrayImage(image), to: path)
}
