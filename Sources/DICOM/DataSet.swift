/// One parsed attribute: its tag, value representation and where its value lies in the storage bytes.
/// Sequences carry their items, already parsed.
public struct Element: Sendable {
    public let tag: Tag
    /// Two-letter value representation; in implicit-VR data the one mammoflow's dictionary knows, else "UN".
    public let vr: String
    /// Byte range of the value in the data set's storage (for a defined length).
    let offset: Int
    let length: Int
    /// True for a value of undefined length (a sequence, or encapsulated pixel data).
    public let undefinedLength: Bool
    public let items: [DataSet]?
}

/// A parsed DICOM data set (the top level of a file, or an item of a sequence). Values stay in the mapped
/// bytes and are decoded only when asked for.
public final class DataSet: @unchecked Sendable {
    let storage: ByteStorage
    public let bigEndian: Bool
    public let file: String
    public let elements: [Tag: Element]

    init(storage: ByteStorage, bigEndian: Bool, file: String, elements: [Tag: Element]) {
        self.storage = storage
        self.bigEndian = bigEndian
        self.file = file
        self.elements = elements
    }

    public subscript(tag: Tag) -> Element? { elements[tag] }

    /// The raw value bytes of a defined-length element.
    public func bytes(_ tag: Tag) -> UnsafeRawBufferPointer? {
        guard let e = elements[tag], !e.undefinedLength else { return nil }
        return UnsafeRawBufferPointer(rebasing: storage.buffer[e.offset ..< e.offset + e.length])
    }

    /// A text value without its padding (trailing spaces and NULs, leading spaces); nil when absent or empty.
    public func string(_ tag: Tag) -> String? {
        guard let raw = bytes(tag) else { return nil }
        let text = String(decoding: raw, as: UTF8.self)
        let trimmed = text.trimmingPadding()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The values of a multi-valued text element, split at backslashes, each trimmed.
    public func strings(_ tag: Tag) -> [String] {
        guard let raw = bytes(tag), raw.count > 0 else { return [] }
        return String(decoding: raw, as: UTF8.self).split(separator: "\\", omittingEmptySubsequences: false)
            .map { String($0).trimmingPadding() }
    }

    /// Numeric values of any numeric representation: binary (US, SS, UL, SL, FL, FD) or text (DS, IS).
    /// Unparseable text values are dropped; nil when the element is absent.
    public func numbers(_ tag: Tag) -> [Double]? {
        guard let e = elements[tag], let raw = bytes(tag) else { return nil }
        func binary<T: FixedWidthInteger>(_: T.Type) -> [Double] {
            (0 ..< raw.count / MemoryLayout<T>.size).map {
                let v = raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)
                return Double(bigEndian ? T(bigEndian: v) : T(littleEndian: v))
            }
        }
        switch e.vr {
        case "US", "OW": return binary(UInt16.self)
        case "SS": return binary(Int16.self)
        case "UL", "OL": return binary(UInt32.self)
        case "SL": return binary(Int32.self)
        case "FL", "OF":
            return binary(UInt32.self).map { Double(Float(bitPattern: UInt32($0))) }
        case "FD", "OD":
            return (0 ..< raw.count / 8).map {
                let v = raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)
                return Double(bitPattern: bigEndian ? UInt64(bigEndian: v) : UInt64(littleEndian: v))
            }
        default:
            return strings(tag).compactMap { Double($0) }
        }
    }

    public func number(_ tag: Tag) -> Double? { numbers(tag)?.first }

    /// A whole-number value; nil when absent, not a number or not whole.
    public func int(_ tag: Tag) -> Int? {
        guard let d = number(tag), d.isFinite, d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    public func sequence(_ tag: Tag) -> [DataSet] { elements[tag]?.items ?? [] }
}

extension String {
    /// Drops DICOM value padding: trailing spaces and NULs, leading spaces.
    func trimmingPadding() -> String {
        var s = Substring(self)
        while let c = s.last, c == " " || c == "\0" { s = s.dropLast() }
        while let c = s.first, c == " " { s = s.dropFirst() }
        return String(s)
    }
}

/// Value representations of the attributes mammoflow reads, for implicit-VR data (which does not carry them)
/// and for explicit `UN` values.
let knownVRs: [Tag: String] = [
    .transferSyntaxUID: "UI", .sopClassUID: "UI", .sopInstanceUID: "UI", .modality: "CS", .manufacturer: "LO",
    .manufacturerModelName: "LO", .patientID: "LO", .samplesPerPixel: "US", .photometricInterpretation: "CS",
    .planarConfiguration: "US", .numberOfFrames: "IS", .rows: "US", .columns: "US", .pixelSpacing: "DS",
    .imagerPixelSpacing: "DS", .bitsAllocated: "US", .bitsStored: "US", .highBit: "US", .pixelRepresentation: "US",
    .windowCenter: "DS", .windowWidth: "DS", .rescaleIntercept: "DS", .rescaleSlope: "DS", .voiLUTFunction: "CS",
    .modalityLUTSequence: "SQ", .lutDescriptor: "US", .lutData: "OW", .voiLUTSequence: "SQ",
    .extendedOffsetTable: "OV", .extendedOffsetTableLengths: "OV", .pixelData: "OW",
    Tag(0x0028, 0x3003): "LO", Tag(0x0028, 0x3004): "LO", Tag(0x0028, 0x1055): "LO",
]

/// VRs whose explicit encoding has a 2-byte reserved field and a 4-byte length.
private let longLengthVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

private let undefinedLength: UInt32 = 0xFFFF_FFFF
private let maximumNesting = 32

/// Parses the elements of a data set from `reader.offset` to `end` (or, for an undefined-length item, to its
/// Item Delimitation). At the top level it stops at Pixel Data, recording where it is without reading it.
struct DataSetParser {
    let storage: ByteStorage
    let file: String

    func malformed(_ reason: String) -> DICOMError { DICOMError(file: file, kind: .malformed, reason: reason) }

    /// `onlyGroup` stops before the first element of another group (the file meta group is read this way).
    func parseDataSet(_ r: inout ByteReader, end: Int?, explicit: Bool, depth: Int, topLevel: Bool,
                      onlyGroup: UInt16? = nil) throws -> DataSet {
        guard depth <= maximumNesting else { throw malformed("sequences nested deeper than \(maximumNesting) levels") }
        var elements: [Tag: Element] = [:]
        while true {
            if let onlyGroup {
                guard r.remaining >= 2 else { break }
                let g = r.bytes.loadUnaligned(fromByteOffset: r.offset, as: UInt16.self)
                if UInt16(littleEndian: g) != onlyGroup { break }
            }
            if let end {
                if r.offset == end { break }
                guard r.offset < end else { throw malformed("an element overruns its item at offset \(r.offset)") }
            } else if topLevel && r.remaining == 0 {
                break
            }
            let start = r.offset
            let group = try r.u16("an element tag")
            let element = try r.u16("an element tag")
            let tag = Tag(group, element)
            if group == 0xFFFE {
                let length = try r.u32("a delimiter length")
                if tag == .itemDelimitation && end == nil && !topLevel { break }
                // Trailing padding after the data set (all zero bytes) is tolerated at the top level.
                throw malformed("unexpected \(tag) at offset \(start) (length \(length))")
            }
            if topLevel && group == 0 && element == 0 && r.bytes[start ..< r.bytes.count].allSatisfy({ $0 == 0 }) {
                r.offset = r.bytes.count
                break
            }
            var vr: String
            let length: UInt32
            if explicit {
                try r.require(2, "the VR of \(tag)")
                let a = r.bytes[r.offset], b = r.bytes[r.offset + 1]
                r.offset += 2
                guard (65...90).contains(a), (65...90).contains(b) else {
                    throw malformed("element \(tag) at offset \(start) has no valid VR (bytes \(a), \(b))")
                }
                vr = String(decoding: [a, b], as: UTF8.self)
                if longLengthVRs.contains(vr) {
                    try r.skip(2, "the reserved bytes of \(tag)")
                    length = try r.u32("the length of \(tag)")
                } else {
                    length = UInt32(try r.u16("the length of \(tag)"))
                }
            } else {
                vr = knownVRs[tag] ?? "UN"
                length = try r.u32("the length of \(tag)")
            }
            let wasUN = vr == "UN"
            if wasUN, let known = knownVRs[tag] { vr = known }

            if tag == .pixelData && topLevel {
                // Recorded, not read: native pixel data is checked against the file size; encapsulated pixel
                // data is walked fragment by fragment only when decoded.
                let undefined = length == undefinedLength
                if !undefined { try r.require(Int(length), "the pixel data (\(length) bytes)") }
                elements[tag] = Element(tag: tag, vr: vr, offset: r.offset, length: undefined ? r.remaining : Int(length),
                                        undefinedLength: undefined, items: nil)
                break
            }

            if tag == .pixelData && length == undefinedLength {
                // Encapsulated pixel data inside an item (an icon image): skipped fragment by fragment.
                let start = r.offset
                while true {
                    let itemTag = Tag(try r.u16("a pixel data item"), try r.u16("a pixel data item"))
                    let itemLength = Int(try r.u32("a pixel data item length"))
                    if itemTag == .sequenceDelimitation { break }
                    guard itemTag == .item, itemLength != Int(undefinedLength) else {
                        throw malformed("bad item \(itemTag) in encapsulated pixel data at offset \(r.offset - 8)")
                    }
                    try r.skip(itemLength, "a pixel data fragment of \(itemLength) bytes")
                }
                elements[tag] = Element(tag: tag, vr: vr, offset: start, length: r.offset - start, undefinedLength: true, items: nil)
                continue
            }

            if length == undefinedLength {
                // An undefined length is a sequence; a UN one is encoded implicit VR little endian (PS3.5 6.2.2).
                guard vr == "SQ" || wasUN || !explicit else {
                    throw malformed("element \(tag) (\(vr)) at offset \(start) has an undefined length")
                }
                var inner = r
                if wasUN { inner.bigEndian = false }
                let items = try parseSequence(&inner, end: nil, explicit: explicit && !wasUN, depth: depth + 1)
                elements[tag] = Element(tag: tag, vr: "SQ", offset: r.offset, length: inner.offset - r.offset,
                                        undefinedLength: true, items: items)
                r.offset = inner.offset
            } else {
                let n = Int(length)
                try r.require(n, "the value of \(tag) (\(n) bytes)")
                var items: [DataSet]? = nil
                if vr == "SQ" {
                    var inner = r
                    if wasUN { inner.bigEndian = false }
                    items = try parseSequence(&inner, end: r.offset + n, explicit: explicit && !wasUN, depth: depth + 1)
                }
                elements[tag] = Element(tag: tag, vr: vr, offset: r.offset, length: n, undefinedLength: false, items: items)
                r.offset += n
            }
        }
        return DataSet(storage: storage, bigEndian: r.bigEndian, file: file, elements: elements)
    }

    /// Items up to `end`, or up to the Sequence Delimitation when the length is undefined.
    func parseSequence(_ r: inout ByteReader, end: Int?, explicit: Bool, depth: Int) throws -> [DataSet] {
        var items: [DataSet] = []
        while true {
            if let end {
                if r.offset == end { break }
                guard r.offset < end else { throw malformed("an item overruns its sequence at offset \(r.offset)") }
            }
            let start = r.offset
            let tag = Tag(try r.u16("an item tag"), try r.u16("an item tag"))
            let length = try r.u32("an item length")
            if tag == .sequenceDelimitation {
                guard end == nil else { throw malformed("sequence delimiter inside a defined-length sequence at \(start)") }
                break
            }
            guard tag == .item else { throw malformed("expected an item in a sequence at offset \(start), found \(tag)") }
            if length == undefinedLength {
                items.append(try parseDataSet(&r, end: nil, explicit: explicit, depth: depth, topLevel: false))
            } else {
                let n = Int(length)
                try r.require(n, "an item of \(n) bytes")
                items.append(try parseDataSet(&r, end: r.offset + n, explicit: explicit, depth: depth, topLevel: false))
            }
        }
        return items
    }
}
