/// The bytes of frame 0's pixel data: a slice of the mapped file, or for a frame split over several
/// encapsulated fragments, their concatenation.
enum FrameBytes {
    case slice(ByteStorage, Range<Int>)
    case owned([UInt8])

    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        switch self {
        case .slice(let storage, let range): return try body(UnsafeRawBufferPointer(rebasing: storage.buffer[range]))
        case .owned(let bytes): return try bytes.withUnsafeBytes(body)
        }
    }
}

extension DICOMFile {
    func error(_ kind: DICOMError.Kind, _ reason: String) -> DICOMError { DICOMError(file: path, kind: kind, reason: reason) }

    /// Frame 0 of native pixel data: exactly its bytes, checked against what the pixel data holds.
    func nativeFrame(_ header: ImageHeader) throws -> FrameBytes {
        guard let e = dataSet[.pixelData], !e.undefinedLength else {
            throw error(.malformed, "native transfer syntax but the pixel data is encapsulated (undefined length)")
        }
        let (frameBytes, overflow) = header.rows.multipliedReportingOverflow(by: header.columns * header.bitsAllocated / 8)
        guard !overflow, frameBytes <= e.length else {
            throw error(.truncated, "pixel data holds \(e.length) bytes, one \(header.columns)x\(header.rows) frame of \(header.bitsAllocated)-bit samples needs \(frameBytes)")
        }
        return .slice(dataSet.storage, e.offset ..< e.offset + frameBytes)
    }

    /// The encapsulated pixel data's fragments (byte ranges in storage) and its Basic Offset Table.
    func fragments() throws -> (offsets: [UInt32], fragments: [Range<Int>]) {
        guard let e = dataSet[.pixelData], e.undefinedLength else {
            throw error(.malformed, "\(transferSyntax.name) needs encapsulated pixel data (undefined length)")
        }
        var r = ByteReader(dataSet.storage.buffer, file: path, bigEndian: false, offset: e.offset)
        var offsets: [UInt32] = []
        var fragments: [Range<Int>] = []
        var first = true
        while r.remaining > 0 {
            let start = r.offset
            let tag = Tag(try r.u16("a pixel data item tag"), try r.u16("a pixel data item tag"))
            let length = try r.u32("a pixel data item length")
            if tag == .sequenceDelimitation { break }
            guard tag == .item else { throw error(.malformed, "expected a pixel data item at offset \(start), found \(tag)") }
            guard length != 0xFFFF_FFFF else { throw error(.malformed, "pixel data item of undefined length at \(start)") }
            let n = Int(length)
            try r.require(n, "a pixel data fragment of \(n) bytes")
            if first {
                guard n % 4 == 0 else { throw error(.malformed, "Basic Offset Table length \(n) is not a multiple of 4") }
                offsets = (0 ..< n / 4).map { UInt32(littleEndian: r.bytes.loadUnaligned(fromByteOffset: r.offset + 4 * $0, as: UInt32.self)) }
                first = false
            } else {
                fragments.append(r.offset ..< r.offset + n)
            }
            r.offset += n
        }
        guard !fragments.isEmpty else { throw error(.truncated, "encapsulated pixel data has no fragments") }
        return (offsets, fragments)
    }

    /// Frame 0 of encapsulated pixel data. A single-frame image owns every fragment; in a multi-frame image
    /// the Extended or Basic Offset Table says where frame 1 starts, else one fragment per frame, else the
    /// fragments up to the first that ends a JPEG / JPEG 2000 codestream (FFD9).
    func encapsulatedFrame(_ header: ImageHeader) throws -> FrameBytes {
        let (offsets, fragments) = try fragments()
        var chosen = fragments
        if header.numberOfFrames > 1 {
            // Offsets count from the first fragment's item tag; item headers are 8 bytes.
            let base = fragments[0].lowerBound - 8
            let extended = dataSet.bytes(.extendedOffsetTable).map { raw in
                (0 ..< raw.count / 8).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)) }
            } ?? []
            let secondFrame: UInt64? = extended.count > 1 ? extended[1] : offsets.count > 1 ? UInt64(offsets[1]) : nil
            if transferSyntax.codec == .rle || fragments.count == header.numberOfFrames {
                chosen = [fragments[0]]
            } else if let secondFrame {
                chosen = fragments.filter { UInt64($0.lowerBound - 8 - base) < secondFrame }
            } else {
                let bytes = dataSet.storage.buffer
                var end = 0
                for (i, f) in fragments.enumerated() {
                    let tail = f.count >= 2 ? Array(bytes[f.upperBound - 2 ..< f.upperBound]) : []
                    let tail3 = f.count >= 3 ? Array(bytes[f.upperBound - 3 ..< f.upperBound - 1]) : []
                    end = i
                    if tail == [0xFF, 0xD9] || (tail3 == [0xFF, 0xD9] && bytes[f.upperBound - 1] == 0) { break }
                }
                chosen = Array(fragments[0 ... end])
            }
        }
        if chosen.count == 1 { return .slice(dataSet.storage, chosen[0]) }
        var joined: [UInt8] = []
        joined.reserveCapacity(chosen.reduce(0) { $0 + $1.count })
        for f in chosen { joined += dataSet.storage.buffer[f] }
        return .owned(joined)
    }
}
