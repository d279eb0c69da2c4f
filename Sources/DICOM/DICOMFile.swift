/// A DICOM Part 10 file (or a bare data set without preamble and meta group), parsed up to its pixel data.
/// The file is memory-mapped: parsing the header never reads the pixel data's pages.
public final class DICOMFile: @unchecked Sendable {
    public let path: String
    /// The file meta information (group 0002); empty for a bare data set.
    public let meta: DataSet
    public let dataSet: DataSet
    public let transferSyntax: TransferSyntax
    /// The mapped file, kept so that a caller can hash the bytes it decoded (`withFileBytes`).
    private let fileStorage: ByteStorage

    public init(path: String) throws {
        self.path = path
        let storage = try ByteStorage.map(path: path)
        fileStorage = storage
        let bytes = storage.buffer
        var r = ByteReader(bytes, file: path)
        if bytes.count >= 132, bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D {
            r.offset = 132  // "DICM" after the 128-byte preamble
        } else if bytes.count >= 4, bytes[0] == 0x44, bytes[1] == 0x49, bytes[2] == 0x43, bytes[3] == 0x4D {
            r.offset = 4  // "DICM" without a preamble
        } else if !Self.startsLikeADataSet(bytes) {
            throw DICOMError(file: path, kind: .malformed, reason: "not a DICOM file: no \"DICM\" marker at byte 128, and it does not start with a data set")
        }
        let parser = DataSetParser(storage: storage, file: path)
        meta = try parser.parseDataSet(&r, end: nil, explicit: true, depth: 0, topLevel: true, onlyGroup: 0x0002)

        let syntax: TransferSyntax
        if let uid = meta.string(.transferSyntaxUID) {
            syntax = TransferSyntax.forUID(uid)
        } else {
            // No meta group: the data set says whether it is explicit by having letters where a VR would be.
            let o = r.offset
            let looksExplicit = r.remaining >= 6 && (65...90).contains(bytes[o + 4]) && (65...90).contains(bytes[o + 5])
            syntax = looksExplicit ? .explicitVRLittleEndian : .implicitVRLittleEndian
        }
        transferSyntax = syntax

        if syntax.isDeflated {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[r.offset...])
            let inflated = try ByteStorage.inflating(prefix: UnsafeRawBufferPointer(start: nil, count: 0), deflated: rest, file: path)
            var ir = ByteReader(inflated.buffer, file: path)
            dataSet = try DataSetParser(storage: inflated, file: path)
                .parseDataSet(&ir, end: nil, explicit: true, depth: 0, topLevel: true)
        } else {
            // Unknown (unsupported) syntaxes are encapsulated and explicit little endian by the standard's rules.
            // Some writers declare explicit VR little endian and write implicit VR: letters where the VR
            // should be tell which.
            r.bigEndian = syntax.bigEndian
            let o = r.offset
            let hasVR = r.remaining < 6 || ((65...90).contains(bytes[o + 4]) && (65...90).contains(bytes[o + 5]))
            let explicit = syntax.explicitVR && (syntax.bigEndian || hasVR)
            dataSet = try parser.parseDataSet(&r, end: nil, explicit: explicit, depth: 0, topLevel: true)
        }
    }

    /// Whether a file without the "DICM" marker may still be a bare data set: its first tag has an even group
    /// below 0x0100 (the meta and header groups a data set starts with), in either byte order.
    static func startsLikeADataSet(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 8 else { return false }
        let first = UInt16(bytes[0]), second = UInt16(bytes[1])
        let little: UInt16 = first | (second << 8)
        let big: UInt16 = (first << 8) | second
        let plausible: (UInt16) -> Bool = { $0 % 2 == 0 && $0 > 0 && $0 < 0x0100 }
        return plausible(little) || plausible(big)
    }

    /// The image attributes, validated.
    public func header() throws -> ImageHeader { try ImageHeader(self) }

    /// The whole file's bytes as mapped: a stage that was promised the file's SHA-256 checks it here, on the
    /// pages it reads anyway, instead of reading the file a second time.
    public func withFileBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(fileStorage.buffer)
    }
}

/// A lookup table from a Modality LUT or VOI LUT Sequence item.
public struct LookupTable: Sendable, Equatable {
    /// The stored (or modality) value that maps to the first entry; lower values map to it too.
    public let firstMapped: Int
    /// Bits of each entry (LUT Descriptor's third value): output spans 0 ..< 2^bits.
    public let bits: Int
    public let entries: [UInt16]

    public func callAsFunction(_ x: Double) -> Double {
        let i = Int((x - Double(firstMapped)).rounded(.down).clamped(to: 0 ... Double(entries.count - 1)))
        return Double(entries[i])
    }

    init?(_ item: DataSet, signedInput: Bool) {
        guard let d = item.numbers(.lutDescriptor), d.count == 3, let raw = item.bytes(.lutData) else { return nil }
        let count = d[0] == 0 ? 65536 : Int(d[0])
        var first = Int(d[1])
        if signedInput && first >= 32768 { first -= 65536 }  // US-encoded descriptor of a signed input range
        let bits = Int(d[2])
        guard (1...16).contains(bits), count > 0 else { return nil }
        var values: [UInt16]
        if raw.count >= 2 * count {
            values = (0..<count).map {
                let v = raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)
                return item.bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
            }
        } else if raw.count >= count && bits <= 8 {
            values = (0..<count).map { UInt16(raw[$0]) }
        } else {
            return nil
        }
        if bits < 16 { values = values.map { $0 & UInt16((1 << bits) - 1) } }
        firstMapped = first
        self.bits = bits
        entries = values
    }
}

/// A VOI window from Window Center / Width.
public struct Window: Sendable, Equatable {
    public let center: Double
    public let width: Double
}

/// The VOI LUT Function (0028,1056).
public enum VOIFunction: String, Sendable {
    case linear = "LINEAR", linearExact = "LINEAR_EXACT", sigmoid = "SIGMOID"
}

/// Everything about a file's first frame that decoding and display need, validated against the standard.
public struct ImageHeader: Sendable {
    public let transferSyntax: TransferSyntax
    public let rows: Int
    public let columns: Int
    public let samplesPerPixel: Int
    public let photometric: String
    public let bitsAllocated: Int
    public let bitsStored: Int
    public let pixelRepresentation: Int
    public let numberOfFrames: Int
    public let rescaleSlope: Double?
    public let rescaleIntercept: Double?
    public let modalityLUT: LookupTable?
    public let windows: [Window]
    public let voiFunction: VOIFunction
    public let voiLUTs: [LookupTable]
    public let manufacturer: String?
    public let model: String?
    /// Row and column spacing in mm (Pixel Spacing, else Imager Pixel Spacing).
    public let pixelSpacing: [Double]?

    public var isSigned: Bool { pixelRepresentation == 1 }
    public var isMonochrome1: Bool { photometric == "MONOCHROME1" }

    /// The natural type of the stored values.
    public var storedType: StoredType {
        switch (bitsAllocated, isSigned) {
        case (...8, false): return .u8
        case (...8, true): return .i8
        case (...16, false): return .u16
        case (...16, true): return .i16
        case (_, false): return .u32
        case (_, true): return .i32
        }
    }

    init(_ file: DICOMFile) throws {
        let ds = file.dataSet
        func fail(_ kind: DICOMError.Kind, _ reason: String) -> DICOMError { DICOMError(file: file.path, kind: kind, reason: reason) }
        guard ds[.pixelData] != nil else { throw fail(.malformed, "no Pixel Data (7FE0,0010): not an image") }
        guard let rows = ds.int(.rows), let columns = ds.int(.columns) else {
            throw fail(.malformed, "Rows (0028,0010) or Columns (0028,0011) missing")
        }
        guard rows > 0, columns > 0, rows <= 65535, columns <= 65535 else {
            throw fail(.malformed, "impossible image size \(columns)x\(rows)")
        }
        guard let bitsAllocated = ds.int(.bitsAllocated) else { throw fail(.malformed, "Bits Allocated (0028,0100) missing") }
        let bitsStored = ds.int(.bitsStored) ?? bitsAllocated
        guard [1, 8, 16, 32].contains(bitsAllocated) else {
            throw fail(.unsupported, "Bits Allocated \(bitsAllocated) (mammoflow decodes 8, 16 and 32)")
        }
        guard bitsAllocated != 1 else { throw fail(.unsupported, "1-bit images (Bits Allocated 1) are not decoded") }
        guard (1...bitsAllocated).contains(bitsStored) else {
            throw fail(.malformed, "Bits Stored \(bitsStored) does not fit Bits Allocated \(bitsAllocated)")
        }
        let pixelRepresentation = ds.int(.pixelRepresentation) ?? 0
        guard pixelRepresentation == 0 || pixelRepresentation == 1 else {
            throw fail(.malformed, "Pixel Representation \(pixelRepresentation) is neither 0 nor 1")
        }
        let samples = ds.int(.samplesPerPixel) ?? 1
        let photometric = ds.string(.photometricInterpretation)?.uppercased() ?? "MONOCHROME2"
        guard samples == 1, photometric == "MONOCHROME1" || photometric == "MONOCHROME2" else {
            throw fail(.unsupported, "colour images (\(photometric), \(samples) samples per pixel) are not decoded; mammograms are MONOCHROME1/2")
        }
        let frames = ds.int(.numberOfFrames) ?? 1
        guard frames >= 1 else { throw fail(.malformed, "Number of Frames \(frames)") }

        transferSyntax = file.transferSyntax
        self.rows = rows
        self.columns = columns
        samplesPerPixel = samples
        self.photometric = photometric
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.pixelRepresentation = pixelRepresentation
        numberOfFrames = frames
        rescaleSlope = ds.number(.rescaleSlope)
        rescaleIntercept = ds.number(.rescaleIntercept)
        modalityLUT = ds.sequence(.modalityLUTSequence).first.flatMap { LookupTable($0, signedInput: pixelRepresentation == 1) }
        let centers = ds.numbers(.windowCenter) ?? [], widths = ds.numbers(.windowWidth) ?? []
        windows = zip(centers, widths).map { Window(center: $0, width: $1) }
        let function = ds.string(.voiLUTFunction)?.uppercased() ?? "LINEAR"
        guard let voi = VOIFunction(rawValue: function) else {
            throw fail(.unsupported, "VOI LUT Function \(function) (known: LINEAR, LINEAR_EXACT, SIGMOID)")
        }
        voiFunction = voi
        // A VOI LUT's input is the modality output: signed when a rescale can make it negative.
        voiLUTs = ds.sequence(.voiLUTSequence).compactMap { LookupTable($0, signedInput: pixelRepresentation == 1) }
        manufacturer = ds.string(.manufacturer)
        model = ds.string(.manufacturerModelName)
        let spacing = ds.numbers(.pixelSpacing) ?? ds.numbers(.imagerPixelSpacing)
        pixelSpacing = spacing?.count == 2 ? spacing : nil
    }
}

/// The natural type of stored values, named as in the corpus' expected.tsv.
public enum StoredType: String, Sendable {
    case u8, i8, u16, i16, u32, i32
    public var isSigned: Bool { self == .i8 || self == .i16 || self == .i32 }
    public var byteWidth: Int {
        switch self {
        case .u8, .i8: return 1
        case .u16, .i16: return 2
        case .u32, .i32: return 4
        }
    }
}

/// Decoded stored values of one frame, row-major. Values are kept as Int32 bit patterns: u32 values above
/// Int32.max read back through `UInt32(bitPattern:)`.
public struct StoredPixels: Sendable {
    public var rows: Int
    public var columns: Int
    public var type: StoredType
    public var values: [Int32]

    public init(rows: Int, columns: Int, type: StoredType, values: [Int32]) {
        self.rows = rows
        self.columns = columns
        self.type = type
        self.values = values
    }

    /// The value at (x, y) as a number, unsigned types read unsigned.
    public func value(x: Int, y: Int) -> Double {
        let v = values[y * columns + x]
        return type == .u32 ? Double(UInt32(bitPattern: v)) : Double(v)
    }

    /// Little-endian bytes in the natural type, row-major: what expected.tsv's stored_sha256 hashes.
    public func littleEndianBytes() -> [UInt8] {
        let width = type.byteWidth
        var out = [UInt8](repeating: 0, count: values.count * width)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in
                switch width {
                case 1: for i in src.indices { dst[i] = UInt8(truncatingIfNeeded: src[i]) }
                case 2: for i in src.indices { dst.storeBytes(of: UInt16(truncatingIfNeeded: src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                default: for i in src.indices { dst.storeBytes(of: src[i].littleEndian, toByteOffset: 4 * i, as: Int32.self) }
                }
            }
        }
        return out
    }
}

extension StoredPixels {
    /// These values as a view, for the length of `body`.
    public func withView<T>(_ body: (StoredPixelsView) throws -> T) rethrows -> T {
        try values.withUnsafeBufferPointer { try body(StoredPixelsView(rows: rows, columns: columns, type: type, values: $0)) }
    }
}

/// Stored values of one frame in memory the caller does not own (a codec's own buffer, or a `StoredPixels`),
/// valid only during the call that hands it over: the largest images need not be held twice.
public struct StoredPixelsView {
    public let rows: Int
    public let columns: Int
    public let type: StoredType
    /// Row-major; out: (rows, columns).
    public let values: UnsafeBufferPointer<Int32>
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
