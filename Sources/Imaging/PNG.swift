#if canImport(Glibc)
import Glibc
#endif
import CPNG
import Foundation
import Shards

/// PNG files through libpng: 8- and 16-bit gray, 8-bit RGB. Samples go through unchanged: no gamma
/// chunk is written for 16-bit data and none is applied on reading (see Sources/CPNG/shim.h).
public enum PNG {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let file: String?
        public let reason: String
        public var description: String { "\(file.map { "\($0): " } ?? "")PNG: \(reason)" }
    }

    /// A decoded PNG: `channels` (1 gray, 3 RGB) samples of `depth` (8 or 16) bits per pixel.
    public struct Decoded: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var channels: Int
        public var depth: Int
        public var samples: [UInt16]
    }

    /// A gray image as PNG: 8-bit when `bits <= 8`, else 16-bit with the samples as they are and an sBIT
    /// chunk naming the significant bits (viewers show a 12-bit image dark; `eightBit()` is for looking).
    public static func encode(_ image: GrayImage, level: Int = 6) throws -> [UInt8] {
        if image.bits <= 8 {
            let bytes = image.pixels.map { UInt8(truncatingIfNeeded: $0) }
            return try encode(raw: bytes, width: image.width, height: image.height, channels: 1, depth: 8,
                              significantBits: image.bits, level: level)
        }
        return try image.pixels.withUnsafeBytes {
            try encode(raw: $0, width: image.width, height: image.height, channels: 1, depth: 16,
                       significantBits: image.bits, level: level)
        }
    }

    public static func encode(_ image: RGBImage, level: Int = 6) throws -> [UInt8] {
        try encode(raw: image.pixels, width: image.width, height: image.height, channels: 3, depth: 8,
                   significantBits: 8, level: level)
    }

    public static func write(_ image: GrayImage, to path: String) throws {
        try writeFileAtomically(path, try encode(image))
    }

    public static func write(_ image: RGBImage, to path: String) throws {
        try writeFileAtomically(path, try encode(image))
    }

    private static func encode(raw: some ContiguousBytes, width: Int, height: Int, channels: Int, depth: Int,
                               significantBits: Int, level: Int) throws -> [UInt8] {
        guard width > 0, height > 0, width < 1 << 31, height < 1 << 31 else {
            throw Error(file: nil, reason: "cannot write a \(width)x\(height) image")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = raw.withUnsafeBytes { pixels in
            mf_png_encode(pixels.baseAddress, UInt32(width), UInt32(height), Int32(channels), Int32(depth),
                          Int32(significantBits), Int32(max(0, min(9, level))), &out, &size, &message, message.count - 1)
        }
        guard status == 0, let out else { throw Error(file: nil, reason: String(cString: message)) }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    public static func decode(_ bytes: [UInt8], file: String? = nil) throws -> Decoded {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0
        var channels: Int32 = 0, depth: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer {
            mf_png_decode($0.baseAddress, $0.count, &pixels, &width, &height, &channels, &depth, &message, message.count - 1)
        }
        guard status == 0, let pixels else { throw Error(file: file, reason: String(cString: message)) }
        defer { free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        let samples: [UInt16]
        if depth == 16 {
            samples = pixels.withMemoryRebound(to: UInt16.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
        } else {
            samples = UnsafeBufferPointer(start: pixels, count: count).map { UInt16($0) }
        }
        return Decoded(width: Int(width), height: Int(height), channels: Int(channels), depth: Int(depth), samples: samples)
    }

    public static func read(_ path: String) throws -> Decoded {
        try decode(try readFile(path), file: path)
    }

    /// Reads a gray PNG as a `GrayImage` (its sBIT chunk is not consulted: bits are the file's depth).
    public static func readGray(_ path: String) throws -> GrayImage {
        let d = try read(path)
        guard d.channels == 1 else { throw Error(file: path, reason: "expected a gray image, found \(d.channels) channels") }
        return GrayImage(width: d.width, height: d.height, bits: d.depth, pixels: d.samples)
    }
}
