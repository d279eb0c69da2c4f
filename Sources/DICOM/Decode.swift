/// How a reduced decode reaches 1/2^N of each side.
public enum ReductionMethod: String, CaseIterable, Sendable {
    /// JPEG 2000 from its wavelet resolution levels (the finer ones are never decoded: several times faster; a
    /// smoothed sample, not a block mean); other encodings area-averaged as they are decoded.
    case levels
    /// Every encoding decoded in full and area-averaged: exact block means, a full decode's cost.
    case area
}

extension DICOMFile {
    /// Decodes frame 0's stored values. `reduce` N gives 1/2^N of each side (ceil): JPEG 2000 skips the finer
    /// wavelet levels while decoding (`by: .levels`); other encodings, levels a codestream lacks and every
    /// level `by: .area` are reduced by exact area averaging. `threads` is libopenjp2's thread pool size.
    public func decodeFrame(reduce: Int = 0, by method: ReductionMethod = .levels, threads: Int = 1) throws -> StoredPixels {
        let h = try header()
        guard (0...16).contains(reduce) else { throw error(.unsupported, "reduce \(reduce) outside 0-16") }
        let syntax = transferSyntax
        var values: [Int32]
        switch syntax.codec {
        case .native where reduce > 0, .deflatedNative where reduce > 0:
            // Row by row into the area reducer: the full-size image is never held.
            let e = dataSet[.pixelData]!
            let swapWords8 = syntax.bigEndian && h.bitsAllocated == 8 && e.vr == "OW"
            var reducer = AreaReducer(rows: h.rows, columns: h.columns, factor: reduce, type: h.storedType)
            var row = [Int32](repeating: 0, count: h.columns)
            try nativeFrame(h).withBytes { frame in
                row.withUnsafeMutableBufferPointer { row in
                    for y in 0 ..< h.rows {
                        NativeDecoder.decode(frame, header: h, bigEndian: syntax.bigEndian, swapWords8: swapWords8,
                                             pixels: y * h.columns ..< (y + 1) * h.columns, into: row)
                        reducer.add(UnsafeBufferPointer(row))
                    }
                }
            }
            return StoredPixels(rows: reducer.outRows, columns: reducer.outColumns, type: h.storedType, values: reducer.values)
        case .native, .deflatedNative:
            let e = dataSet[.pixelData]!
            let swapWords8 = syntax.bigEndian && h.bitsAllocated == 8 && e.vr == "OW"
            values = try nativeFrame(h).withBytes {
                NativeDecoder.decode($0, header: h, bigEndian: syntax.bigEndian, swapWords8: swapWords8)
            }
        case .rle:
            values = try encapsulatedFrame(h).withBytes { try RLEDecoder.decode($0, header: h, file: path) }
        case .jpegLossless where reduce > 0:
            // Rows are area-averaged as they are decoded: the full-size image is never held.
            // Its values are within 16 bits whatever the header's type (precision 2-16).
            var reducer = AreaReducer(rows: h.rows, columns: h.columns, factor: reduce, type: .u16)
            var extended = [Int32](repeating: 0, count: h.isSigned ? h.columns : 0)
            let wrongSize = error(.corruptPixels, "JPEG frame rows disagree with the header's \(h.columns)x\(h.rows)")
            let frame = try encapsulatedFrame(h).withBytes {
                try JPEGLosslessDecoder.decodeRows($0, file: path) { row in
                    guard row.count == h.columns, !reducer.isComplete else { throw wrongSize }
                    guard h.isSigned else { return reducer.add(row) }
                    for x in 0 ..< row.count { extended[x] = row[x] }
                    extended.withUnsafeMutableBufferPointer { NativeDecoder.signExtend($0, header: h) }
                    extended.withUnsafeBufferPointer { reducer.add($0) }
                }
            }
            guard frame.width == h.columns, frame.height == h.rows, reducer.isComplete else {
                throw error(.corruptPixels, "JPEG frame is \(frame.width)x\(frame.height), the header says \(h.columns)x\(h.rows)")
            }
            return StoredPixels(rows: reducer.outRows, columns: reducer.outColumns, type: h.storedType, values: reducer.values)
        case .jpegLossless:
            let frame = try encapsulatedFrame(h).withBytes { try JPEGLosslessDecoder.decode($0, file: path) }
            guard frame.width == h.columns, frame.height == h.rows else {
                throw error(.corruptPixels, "JPEG frame is \(frame.width)x\(frame.height), the header says \(h.columns)x\(h.rows)")
            }
            values = frame.values
            NativeDecoder.signExtend(&values, header: h)
        case .jpeg2000:
            return try withJPEG2000Frame(h, reduce: reduce, by: method, threads: threads) { view in
                StoredPixels(rows: view.rows, columns: view.columns, type: view.type, values: Array(view.values))
            }
        case .unsupported:
            throw error(.unsupported, "transfer syntax \(syntax.uid) (\(syntax.name)) is not decoded by mammoflow")
        }
        var pixels = StoredPixels(rows: h.rows, columns: h.columns, type: h.storedType, values: values)
        if reduce > 0 { pixels = pixels.areaReduced(by: reduce) }
        return pixels
    }

    /// `decodeFrame`'s values handed to `body` for the length of the call. JPEG 2000 frames are read from the
    /// codec's own buffer, not copied: a full-size image is held once.
    public func withDecodedFrame<T>(reduce: Int = 0, by method: ReductionMethod = .levels, threads: Int = 1,
                                    _ body: (StoredPixelsView) throws -> T) throws -> T {
        let h = try header()
        guard transferSyntax.codec == .jpeg2000, (0...16).contains(reduce) else {
            return try decodeFrame(reduce: reduce, by: method, threads: threads).withView(body)
        }
        return try withJPEG2000Frame(h, reduce: reduce, by: method, threads: threads, body)
    }

    /// A JPEG 2000 frame at `reduce`, sign-extended in the codec's buffer: decoded at that resolution level
    /// (`.levels`), or in full (`.area`) and area-reduced straight from the codec's buffer, as are the levels
    /// a codestream lacks.
    private func withJPEG2000Frame<T>(_ h: ImageHeader, reduce: Int, by method: ReductionMethod, threads: Int,
                                      _ body: (StoredPixelsView) throws -> T) throws -> T {
        try encapsulatedFrame(h).withBytes { bytes in
            // Lossless JPEG 2000 of a real image needs more than a bit per 256 pixels; a header claiming
            // more than that (plus any mammogram's 16 M) is not allocated for.
            guard h.rows * h.columns <= 256 * bytes.count + (1 << 24) else {
                throw error(.corruptPixels, "\(h.columns)x\(h.rows) pixels cannot come from \(bytes.count) bytes of JPEG 2000")
            }
            return try JPEG2000Decoder.decode(bytes, expectedWidth: h.columns, expectedHeight: h.rows,
                                              reduce: method == .levels ? reduce : 0, threads: threads, file: path) { layout, samples in
                let scale = 1 << layout.reduced
                guard layout.width == (h.columns + scale - 1) / scale, layout.height == (h.rows + scale - 1) / scale else {
                    throw error(.corruptPixels, "JPEG 2000 frame is \(layout.width)x\(layout.height) at reduce \(layout.reduced), the header says \(h.columns)x\(h.rows)")
                }
                NativeDecoder.signExtend(samples, header: h)
                let view = StoredPixelsView(rows: layout.height, columns: layout.width, type: h.storedType, values: UnsafeBufferPointer(samples))
                guard reduce > layout.reduced else { return try body(view) }
                return try view.areaReduced(by: reduce - layout.reduced).withView(body)
            }
        }
    }
}

extension StoredPixels {
    /// 1/2^factor of each side (ceil), each output the rounded mean of the input pixels its block covers
    /// (edge blocks cover fewer pixels): exact area averaging, like OpenCV's INTER_AREA at integer scales.
    public func areaReduced(by factor: Int) -> StoredPixels {
        withView { $0.areaReduced(by: factor) }
    }
}

extension StoredPixelsView {
    /// `StoredPixels.areaReduced` read from this view's buffer (a codec's), which is never copied.
    public func areaReduced(by factor: Int) -> StoredPixels {
        var reducer = AreaReducer(rows: rows, columns: columns, factor: factor, type: type)
        for y in 0 ..< rows { reducer.add(UnsafeBufferPointer(rebasing: values[y * columns ..< (y + 1) * columns])) }
        return StoredPixels(rows: reducer.outRows, columns: reducer.outColumns, type: type, values: reducer.values)
    }
}

/// Exact area averaging fed one input row at a time, so a decoder can reduce an image while decoding it
/// and never hold it whole: each output is the rounded (half up) mean of the up to 2^factor x 2^factor input
/// pixels its block covers; the output is ceil(size / 2^factor) per side.
struct AreaReducer {
    let rows: Int, columns: Int
    let outRows: Int, outColumns: Int
    private let side: Int
    private let unsigned32: Bool
    /// Column sums in 32 bits, for values of at most 16 bits (a column sums at most 2^14 of them): four lanes
    /// per SSE2 add instead of a widening add per value, the largest share of reducing a JPEG lossless image.
    private let narrow: Bool
    private var sums: [Int64]
    private var narrowSums: [Int32]
    private var rowsAdded = 0
    /// The reduced image, row-major; out: (outRows, outColumns). Complete once every input row is added.
    private(set) var values: [Int32]

    /// `type`: what the values are (any Int32 for 32-bit types; within 16 bits, signed or not, otherwise).
    init(rows: Int, columns: Int, factor: Int, type: StoredType) {
        side = 1 << factor
        self.rows = rows
        self.columns = columns
        outRows = (rows + side - 1) / side
        outColumns = (columns + side - 1) / side
        unsigned32 = type == .u32
        narrow = type.byteWidth <= 2 && factor <= 14
        sums = [Int64](repeating: 0, count: narrow ? 0 : columns)
        narrowSums = [Int32](repeating: 0, count: narrow ? columns : 0)
        values = [Int32](repeating: 0, count: outRows * outColumns)
    }

    var isComplete: Bool { rowsAdded == rows }

    /// Adds the next input row (`columns` values); a block's last row writes its output row.
    mutating func add(_ row: UnsafeBufferPointer<Int32>) {
        precondition(row.count == columns && rowsAdded < rows, "AreaReducer: row \(rowsAdded) of \(row.count) values")
        // Column sums over the block's rows: one long loop per row, which the compiler vectorises (unchecked
        // adds: a column sums at most 2^factor values, far from the sums' range).
        if narrow {
            narrowSums.withUnsafeMutableBufferPointer { sums in
                for x in 0 ..< row.count { sums[x] &+= row[x] }
            }
        } else {
            sums.withUnsafeMutableBufferPointer { sums in
                if unsigned32 {
                    for x in 0 ..< row.count { sums[x] &+= Int64(UInt32(bitPattern: row[x])) }
                } else {
                    for x in 0 ..< row.count { sums[x] &+= Int64(row[x]) }
                }
            }
        }
        rowsAdded += 1
        guard rowsAdded % side == 0 || rowsAdded == rows else { return }
        let oy = (rowsAdded - 1) / side, blockRows = rowsAdded - oy * side
        let side = side
        values.withUnsafeMutableBufferPointer { values in
            let out = UnsafeMutableBufferPointer(rebasing: values[oy * outColumns ..< (oy + 1) * outColumns])
            if narrow {
                narrowSums.withUnsafeMutableBufferPointer { Self.writeMeans(into: out, from: $0, blockRows: blockRows, side: side) }
            } else {
                sums.withUnsafeMutableBufferPointer { Self.writeMeans(into: out, from: $0, blockRows: blockRows, side: side) }
            }
        }
    }

    /// One output row from the column sums of its `blockRows` input rows; clears the sums for the next block.
    private static func writeMeans<Sum: FixedWidthInteger>(into out: UnsafeMutableBufferPointer<Int32>, from sums: UnsafeMutableBufferPointer<Sum>,
                                                           blockRows: Int, side: Int) {
        let columns = sums.count
        // A block of full height and width holds 2^k pixels (blockRows is a power of two then), so its floor
        // division is an arithmetic shift: those blocks go through a loop of their own, without a division or a
        // branch (per-column closures had made this half of reducing a JPEG lossless image).
        var ox = 0
        if side == 4 && blockRows == 4 && Sum.self == Int32.self {
            // The default 1/4 with 32-bit sums (values within 16 bits: 16 of them cannot overflow): a block's
            // four column sums are one vector and its sum one horizontal add.
            let vectors = UnsafeRawPointer(sums.baseAddress!)
            while ox < columns / 4 {
                let sum = Int64(vectors.loadUnaligned(fromByteOffset: 16 * ox, as: SIMD4<Int32>.self).wrappedSum())
                out[ox] = Int32(truncatingIfNeeded: (2 * sum &+ 16) >> 5)
                ox += 1
            }
        } else if blockRows & (blockRows - 1) == 0 {
            let shift = Int64((blockRows * side).trailingZeroBitCount + 1), n = Int64(blockRows * side)
            while ox < columns / side {
                var sum: Int64 = 0
                for x in ox * side ..< (ox + 1) * side { sum &+= Int64(sums[x]) }
                // Round half up: floor((2 * sum + n) / (2 * n)), also for negative sums.
                out[ox] = Int32(truncatingIfNeeded: (2 * sum &+ n) >> shift)
                ox += 1
            }
        }
        while ox < out.count {
            let x1 = min(columns, (ox + 1) * side)
            var sum: Int64 = 0
            for x in ox * side ..< x1 { sum &+= Int64(sums[x]) }
            let n = Int64(blockRows * (x1 - ox * side))
            let q = 2 * sum + n
            out[ox] = Int32(truncatingIfNeeded: q >= 0 ? q / (2 * n) : -((-q + 2 * n - 1) / (2 * n)))
            ox += 1
        }
        sums.update(repeating: 0)
    }
}
