/// How decoded pixels become the unsigned samples of an image record (the decode stage's `values` param).
public enum OutputValues: String, CaseIterable, Sendable {
    /// The stored values as they are (Bits Stored bits); signed values offset by 2^(BitsStored-1) to be unsigned.
    case stored
    /// Modality LUT + VOI (window or VOI LUT) + MONOCHROME1 inversion, 0...1 scaled to 16 bits.
    case window16
    /// The same at 8 bits.
    case window8
    /// The RSNA study's notebooks: no LUT, no window; per-image min-max of the stored values to 0...255
    /// (truncated, as `(x / max * 255).astype(uint8)` does), MONOCHROME1 inverted first.
    case minmax8
}

/// Unsigned samples ready for an image record.
public struct RenderedImage: Sendable {
    public let width: Int
    public let height: Int
    /// Significant bits of each sample, 1...16.
    public let bits: Int
    /// Row-major; out: (height, width).
    public let samples: [UInt16]
}

extension PixelSemantics {
    /// Renders decoded stored values in one of the output modes. Fails only for `stored` values wider than 16 bits.
    public func render(_ p: StoredPixels, as mode: OutputValues) throws -> RenderedImage {
        try p.withView { try render($0, as: mode) }
    }

    /// `range`: the image's smallest and largest stored value when the caller has them already (`storedRange`).
    public func render(_ p: StoredPixelsView, as mode: OutputValues, range: (Int64, Int64)? = nil) throws -> RenderedImage {
        switch mode {
        case .stored:
            let bits = header.bitsStored
            guard bits <= 16 else {
                throw DICOMError(file: "", kind: .unsupported, reason: "stored values of \(bits) bits do not fit a 16-bit image record")
            }
            let offset: Int32 = header.isSigned ? 1 << (bits - 1) : 0
            let top = Int32((1 << bits) - 1)
            let samples = p.values.map { UInt16(clamping: min(top, max(0, $0 &+ offset))) }
            return RenderedImage(width: p.columns, height: p.rows, bits: bits, samples: samples)
        case .window16, .window8:
            let top: Float = mode == .window16 ? 65535 : 255
            let samples = displaySamples(p, top: top, range: range)
            return RenderedImage(width: p.columns, height: p.rows, bits: mode == .window16 ? 16 : 8, samples: samples)
        case .minmax8:
            let (low, high) = range ?? p.storedRange()
            let span = Double(high) - Double(low)
            let invert = header.isMonochrome1
            let samples = p.values.map { v -> UInt16 in
                guard span > 0 else { return 0 }
                let x = Double(p.type == .u32 ? Int64(UInt32(bitPattern: v)) : Int64(v))
                let scaled = (invert ? Double(high) - x : x - Double(low)) / span
                return UInt16(scaled * 255)
            }
            return RenderedImage(width: p.columns, height: p.rows, bits: 8, samples: samples)
        }
    }
}

extension StoredPixels {
    /// The smallest and largest stored value (unsigned types read unsigned).
    public func storedRange() -> (Int64, Int64) { withView { $0.storedRange() } }
}

extension StoredPixelsView {
    /// The smallest and largest stored value (unsigned types read unsigned).
    /// (Int64.max, Int64.min) for an empty image. One loop per reading, which the compiler vectorises.
    public func storedRange() -> (Int64, Int64) {
        guard !values.isEmpty else { return (Int64.max, Int64.min) }
        if type == .u32 {
            var low = UInt32.max, high = UInt32.min
            for x in values {
                low = min(low, UInt32(bitPattern: x))
                high = max(high, UInt32(bitPattern: x))
            }
            return (Int64(low), Int64(high))
        }
        var low = Int32.max, high = Int32.min
        for x in values {
            low = min(low, x)
            high = max(high, x)
        }
        return (Int64(low), Int64(high))
    }
}

/// The header facts people and later stages want, as JSON-friendly values (`mammoflow dicom info`, the
/// decode stage's `dicom` metadata).
public struct HeaderFacts: Codable, Sendable, Equatable {
    public var transferSyntax: String
    public var transferSyntaxName: String
    public var photometric: String
    public var rows: Int
    public var columns: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var pixelRepresentation: Int
    public var frames: Int
    public var windowCenter: Double?
    public var windowWidth: Double?
    public var voiFunction: String?
    public var voiLUT: Bool
    public var rescaleSlope: Double?
    public var rescaleIntercept: Double?
    public var modalityLUT: Bool
    public var manufacturer: String?
    public var model: String?
    public var pixelSpacing: [Double]?

    enum CodingKeys: String, CodingKey {
        case transferSyntax = "transfer_syntax", transferSyntaxName = "transfer_syntax_name", photometric
        case rows, columns, bitsAllocated = "bits_allocated", bitsStored = "bits_stored"
        case pixelRepresentation = "pixel_representation", frames
        case windowCenter = "window_center", windowWidth = "window_width", voiFunction = "voi_function", voiLUT = "voi_lut"
        case rescaleSlope = "rescale_slope", rescaleIntercept = "rescale_intercept", modalityLUT = "modality_lut"
        case manufacturer, model, pixelSpacing = "pixel_spacing"
    }

    /// The facts of a header; the window is the one `voiIndex` picks (as PixelSemantics does).
    public init(_ h: ImageHeader, voiIndex: Int = 0) {
        transferSyntax = h.transferSyntax.uid
        transferSyntaxName = h.transferSyntax.name
        photometric = h.photometric
        rows = h.rows
        columns = h.columns
        bitsAllocated = h.bitsAllocated
        bitsStored = h.bitsStored
        pixelRepresentation = h.pixelRepresentation
        frames = h.numberOfFrames
        let window = h.windows.isEmpty ? nil : h.windows[min(max(0, voiIndex), h.windows.count - 1)]
        windowCenter = window?.center
        windowWidth = window?.width
        voiFunction = window == nil ? nil : h.voiFunction.rawValue
        voiLUT = !h.voiLUTs.isEmpty
        rescaleSlope = h.rescaleSlope
        rescaleIntercept = h.rescaleIntercept
        modalityLUT = h.modalityLUT != nil
        manufacturer = h.manufacturer
        model = h.model
        pixelSpacing = h.pixelSpacing
    }
}
