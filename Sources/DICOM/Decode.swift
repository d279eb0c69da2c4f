extension DICOMFile {
    /// Decodes frame 0's stored values. `reduce` N gives 1/2^N of each side (ceil): JPEG 2000 skips the finer
    /// wavelet levels while decoding; other encodings (and levels a codestream lacks) are reduced after
    /// decoding by exact area averaging. `threads` is libopenjp2's thread pool size.
    public func decodeFrame(reduce: Int = 0, threads: Int = 1) throws -> StoredPixels {
        let h = try header()
        guard (0...16).contains(reduce) else { throw error(.unsupported, "reduce \(reduce) outside 0-16") }
        let syntax = transferSyntax
        var values: [Int32]
        var rows = h.rows, columns = h.columns
        var remaining = reduce
        switch syntax.codec {
        case .native, .deflatedNative:
            let e = dataSet[.pixelData]!
            let swapWords8 = syntax.bigEndian && h.bitsAllocated == 8 && e.vr == "OW"
            values = try nativeFrame(h).withBytes {
                NativeDecoder.decode($0, header: h, bigEndian: syntax.bigEndian, swapWords8: swapWords8)
            }
        case .rle:
            values = try encapsulatedFrame(h).withBytes { try RLEDecoder.decode($0, header: h, file: path) }
        case .jpegLossless:
            let frame = try encapsulatedFrame(h).withBytes { try JPEGLosslessDecoder.decode($0, file: path) }
            guard frame.width == h.columns, frame.height == h.rows else {
                throw error(.corruptPixels, "JPEG frame is \(frame.width)x\(frame.height), the header says \(h.columns)x\(h.rows)")
            }
            values = frame.values
            NativeDecoder.signExtend(&values, header: h)
        case .jpeg2000:
            let result = try encapsulatedFrame(h).withBytes { bytes in
                // Lossless JPEG 2000 of a real image needs more than a bit per 256 pixels; a header claiming
                // more than that (plus any mammogram's 16 M) is not allocated for.
                guard h.rows * h.columns <= 256 * bytes.count + (1 << 24) else {
                    throw error(.corruptPixels, "\(h.columns)x\(h.rows) pixels cannot come from \(bytes.count) bytes of JPEG 2000")
                }
                return try JPEG2000Decoder.decode(bytes, expectedWidth: h.columns, expectedHeight: h.rows,
                                                  reduce: reduce, threads: threads, file: path)
            }
            let scale = 1 << result.reduced
            let expected = ((h.columns + scale - 1) / scale, (h.rows + scale - 1) / scale)
            guard result.width == expected.0, result.height == expected.1 else {
                throw error(.corruptPixels, "JPEG 2000 frame is \(result.width)x\(result.height) at reduce \(result.reduced), the header says \(h.columns)x\(h.rows)")
            }
            values = result.values
            rows = result.height
            columns = result.width
            remaining -= result.reduced
            NativeDecoder.signExtend(&values, header: h)
        case .unsupported:
            throw error(.unsupported, "transfer syntax \(syntax.uid) (\(syntax.name)) is not decoded by mammoflow")
        }
        var pixels = StoredPixels(rows: rows, columns: columns, type: h.storedType, values: values)
        if remaining > 0 { pixels = pixels.areaReduced(by: remaining) }
        return pixels
    }
}

extension StoredPixels {
    /// 1/2^factor of each side (ceil), each output the rounded mean of the input pixels its block covers
    /// (edge blocks cover fewer pixels): exact area averaging, like OpenCV's INTER_AREA at integer scales.
    public func areaReduced(by factor: Int) -> StoredPixels {
        let f = 1 << factor
        let outRows = (rows + f - 1) / f, outColumns = (columns + f - 1) / f
        var sums = [Int64](repeating: 0, count: outColumns)
        var out = [Int32](repeating: 0, count: outRows * outColumns)
        let unsigned32 = type == .u32
        values.withUnsafeBufferPointer { src in
            for oy in 0 ..< outRows {
                for i in sums.indices { sums[i] = 0 }
                let y0 = oy * f, y1 = min(rows, y0 + f)
                for y in y0 ..< y1 {
                    let row = src.baseAddress! + y * columns
                    for x in 0 ..< columns {
                        sums[x / f] += unsigned32 ? Int64(UInt32(bitPattern: row[x])) : Int64(row[x])
                    }
                }
                for ox in 0 ..< outColumns {
                    let n = Int64((y1 - y0) * (min(columns, (ox + 1) * f) - ox * f))
                    // Round half up, also for negative sums (floor division).
                    let q = (2 * sums[ox] + n)
                    let mean = q >= 0 ? q / (2 * n) : -((-q + 2 * n - 1) / (2 * n))
                    out[oy * outColumns + ox] = Int32(truncatingIfNeeded: mean)
                }
            }
        }
        return StoredPixels(rows: outRows, columns: outColumns, type: type, values: out)
    }
}
