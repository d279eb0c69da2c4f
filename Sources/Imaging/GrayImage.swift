import Shards

/// A grayscale image: `bits` significant bits per sample (1...16), samples row-major in `pixels`.
/// Every stage from decode to pectoral works on this; 8-bit images are held in UInt16 too, so the
/// algorithms have one code path.
public struct GrayImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Values lie in 0 ..< 2^bits.
    public var bits: Int
    /// Row-major samples, `width * height` of them.
    public var pixels: [UInt16]

    public init(width: Int, height: Int, bits: Int, pixels: [UInt16]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height, "pixels do not fill \(width)x\(height)")
        precondition((1...16).contains(bits), "bits must be 1...16")
        self.width = width
        self.height = height
        self.bits = bits
        self.pixels = pixels
    }

    /// A `width` x `height` image filled with `value`.
    public init(width: Int, height: Int, bits: Int, filledWith value: UInt16 = 0) {
        self.init(width: width, height: height, bits: bits, pixels: [UInt16](repeating: value, count: width * height))
    }

    public init(_ payload: ImagePayload) {
        self.init(width: payload.width, height: payload.height, bits: payload.bits, pixels: payload.samples)
    }

    public var payload: ImagePayload { ImagePayload(width: width, height: height, bits: bits, samples: pixels) }

    /// The largest value a sample may hold, 2^bits - 1.
    public var maxValue: UInt16 { UInt16((1 << bits) - 1) }

    public subscript(x: Int, y: Int) -> UInt16 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    /// The pixels inside `rect` (which must lie inside the image).
    public func cropped(to rect: PixelRect) -> GrayImage {
        precondition(rect.x >= 0 && rect.y >= 0 && rect.maxX <= width && rect.maxY <= height, "crop \(rect) outside \(width)x\(height)")
        let out = [UInt16](unsafeUninitializedCapacity: rect.area) { buffer, count in
            pixels.withUnsafeBufferPointer { source in
                for y in 0..<rect.height {
                    (buffer.baseAddress! + y * rect.width)
                        .initialize(from: source.baseAddress! + (rect.y + y) * width + rect.x, count: rect.width)
                }
            }
            count = rect.area
        }
        return GrayImage(width: rect.width, height: rect.height, bits: bits, pixels: out)
    }

    /// Mirror image left to right.
    public func flippedHorizontally() -> GrayImage {
        // Written once from the source rows read backwards (a copy reversed in place through slices swapped
        // element by element: 5.6% of crop's CPU).
        let width = width
        let out = [UInt16](unsafeUninitializedCapacity: pixels.count) { buffer, count in
            pixels.withUnsafeBufferPointer { source in
                for y in 0..<height {
                    let from = source.baseAddress! + y * width, to = buffer.baseAddress! + y * width
                    for x in 0..<width { to[x] = from[width &- 1 &- x] }
                }
            }
            count = pixels.count
        }
        return GrayImage(width: width, height: height, bits: bits, pixels: out)
    }

    /// Samples rescaled to 8 bits (v * 255 / max, rounded), e.g. for a PNG a person looks at.
    public func eightBit() -> [UInt8] {
        let maxValue = UInt32(self.maxValue)
        if maxValue == 255 { return pixels.map { UInt8(truncatingIfNeeded: $0) } }
        return pixels.map { UInt8((UInt32(min($0, UInt16(maxValue))) * 255 + maxValue / 2) / maxValue) }
    }
}

/// An axis-aligned rectangle of whole pixels; as metadata `{x, y, width, height}`.
public struct PixelRect: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var area: Int { width * height }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }

    /// Intersection over union with `other` (0 when either is empty).
    public func iou(_ other: PixelRect) -> Double {
        let w = max(0, min(maxX, other.maxX) - max(x, other.x))
        let h = max(0, min(maxY, other.maxY) - max(y, other.y))
        let union = area + other.area - w * h
        return union > 0 ? Double(w * h) / Double(union) : 0
    }
}

/// A straight line segment between two points in pixel coordinates; as metadata `{x0, y0, x1, y1}`.
public struct LineSegment: Sendable, Equatable, Codable {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }
}
