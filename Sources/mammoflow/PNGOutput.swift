import ArgumentParser
import Shards

/// Writes an image record as a PNG: provided by the Imaging library once it lands in main.
func writePNG(_ image: ImagePayload, to path: String) throws {
    throw ValidationError("--png needs Imaging.PNG, which this build does not have yet")
}
