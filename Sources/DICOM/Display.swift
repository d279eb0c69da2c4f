import Foundation

/// What to do between the modality values and the display (PS3.3 C.11.2).
public enum VOITransform: Sendable, Equatable {
    case window(Window, VOIFunction)
    case lut(LookupTable)
    /// No VOI in the file (or asked for none): the modality range maps linearly onto the display.
    case identity
}

/// The grey-scale pipeline of one image: stored values -> Modality LUT (rescale or LUT) -> VOI (window or
/// LUT) -> display normalised to 0...1 with MONOCHROME1 inverted, so that 1 is always the densest. The ranges
/// follow DICOM's definitions as pydicom implements them, so display values match pydicom's to rounding.
public struct PixelSemantics: Sendable {
    public let header: ImageHeader
    public let voi: VOITransform
    /// The range the modality output can take (the display normalises a window's output over it).
    public let modalityMinimum: Double
    public let modalityMaximum: Double

    /// `voiIndex` picks a window (or VOI LUT) when the file has several; past the last, the last is used.
    /// A VOI LUT Sequence is preferred to windows when both are present (as pydicom does).
    public init(header h: ImageHeader, voiIndex: Int = 0) {
        header = h
        if !h.voiLUTs.isEmpty {
            voi = .lut(h.voiLUTs[min(max(0, voiIndex), h.voiLUTs.count - 1)])
        } else if !h.windows.isEmpty {
            let w = h.windows[min(max(0, voiIndex), h.windows.count - 1)]
            voi = .window(w, h.voiFunction)
        } else {
            voi = .identity
        }
        var low: Double, high: Double
        if let lut = h.modalityLUT {
            low = 0
            high = Double((1 << lut.bits) - 1)
        } else if h.isSigned {
            low = -Double(1 << (h.bitsStored - 1))
            high = Double(1 << (h.bitsStored - 1)) - 1
        } else {
            low = 0
            high = Double((1 << h.bitsStored) - 1)
        }
        if h.modalityLUT == nil, let slope = h.rescaleSlope, let intercept = h.rescaleIntercept {
            low = low * slope + intercept
            high = high * slope + intercept
        }
        modalityMinimum = low
        modalityMaximum = high
    }

    /// Stored value -> modality value (Modality LUT Sequence, else Rescale Slope/Intercept, else identity).
    @inline(__always)
    public func modality(_ stored: Double) -> Double {
        if let lut = header.modalityLUT { return lut(stored) }
        if header.rescaleSlope != nil || header.rescaleIntercept != nil {
            return stored * (header.rescaleSlope ?? 1) + (header.rescaleIntercept ?? 0)
        }
        return stored
    }

    /// Modality value -> display value in 0...1, brighter = denser.
    public func display(modality x: Double) -> Double {
        var v: Double
        switch voi {
        case .lut(let lut):
            v = lut(x) / Double((1 << lut.bits) - 1)
        case .identity:
            let range = modalityMaximum - modalityMinimum
            v = range == 0 ? 0 : (x - modalityMinimum) / range
        case .window(let w, let function):
            var center = w.center, width = w.width
            switch function {
            case .linear:
                // PS3.3 C.11.2.1.2.1: width 1 is a threshold at center - 0.5.
                center -= 0.5
                width = max(0, width - 1)
                fallthrough
            case .linearExact:
                if x <= center - width / 2 { v = 0 } else if x > center + width / 2 { v = 1 } else { v = (x - center) / width + 0.5 }
            case .sigmoid:
                v = width <= 0 ? (x > center ? 1 : 0) : 1 / (1 + exp(-4 * (x - center) / width))
            }
        }
        v = min(1, max(0, v))
        return header.isMonochrome1 ? 1 - v : v
    }

    public func display(stored: Double) -> Double { display(modality: modality(stored)) }

    /// `transform` of every pixel, through a table over the image's own range of stored values when that spans
    /// at most 65,536 values: the transform runs at most that many times (for 12-bit values 4,096, where a table
    /// over the type's whole range cost 65,536 per image), and the output is the only full-size array made.
    /// `range`: the image's smallest and largest stored value when the caller has them already.
    func mapPixels<Output>(_ p: StoredPixelsView, range: (Int64, Int64)? = nil, _ transform: (Double) -> Output) -> [Output] {
        let (low, high) = range ?? p.storedRange()
        guard high >= low else { return [] }
        guard high - low < 1 << 16 else {
            return p.type == .u32 ? p.values.map { transform(Double(UInt32(bitPattern: $0))) } : p.values.map { transform(Double($0)) }
        }
        let table = (low ... high).map { transform(Double($0)) }
        return table.withUnsafeBufferPointer { t in
            let t = t.baseAddress!
            if p.type == .u32 {
                return p.values.map { t[Int(UInt32(bitPattern: $0)) - Int(low)] }
            }
            return p.values.map { t[Int($0) - Int(low)] }
        }
    }

    /// Modality values of every pixel.
    public func modalityImage(_ p: StoredPixels) -> [Float] { p.withView { mapPixels($0) { Float(modality($0)) } } }

    /// Display values (0...1, bright = dense) of every pixel.
    public func displayImage(_ p: StoredPixels) -> [Float] { p.withView { mapPixels($0) { Float(display(stored: $0)) } } }

    /// Display values scaled to 0...`top` and rounded, straight from the stored values (no float image between).
    public func displaySamples(_ p: StoredPixelsView, top: Float, range: (Int64, Int64)? = nil) -> [UInt16] {
        mapPixels(p, range: range) { UInt16((Float(display(stored: $0)) * top).rounded()) }
    }
}
