import COpenJPEG

/// Errors of the JPEG 2000 encoder; libopenjp2 reports failures only as a false return, so we name the step.
public enum JPEG2000EncoderError: Error, CustomStringConvertible {
    case badGeometry(width: Int, height: Int, samples: Int)
    case badPrecision(Int)
    case openJPEG(step: String)

    public var description: String {
        switch self {
        case .badGeometry(let w, let h, let n): return "JPEG 2000: \(w)x\(h) needs \(w * h) samples, got \(n)"
        case .badPrecision(let p): return "JPEG 2000: precision \(p) is outside 1...16 bits"
        case .openJPEG(let step): return "JPEG 2000: libopenjp2 failed in \(step)"
        }
    }
}

/// JPEG 2000 lossless (reversible 5/3 wavelet, one quality layer) through libopenjp2, producing a bare J2K
/// codestream as DICOM's 1.2.840.10008.1.2.4.90 encapsulates it (no JP2 box wrapper).
public enum JPEG2000Encoder {
    /// `threads`: libopenjp2's own worker threads for code-block coding (1 when the caller parallelises
    /// across images). The output does not depend on it.
    public static func encode(samples: [UInt16], width: Int, height: Int, precision: Int, threads: Int = 1) throws -> [UInt8] {
        guard width >= 1, height >= 1, samples.count == width * height else {
            throw JPEG2000EncoderError.badGeometry(width: width, height: height, samples: samples.count)
        }
        guard (1...16).contains(precision) else { throw JPEG2000EncoderError.badPrecision(precision) }

        var component = opj_image_cmptparm_t()
        component.dx = 1
        component.dy = 1
        component.w = OPJ_UINT32(width)
        component.h = OPJ_UINT32(height)
        component.prec = OPJ_UINT32(precision)
        component.sgnd = 0
        guard let image = opj_image_create(1, &component, OPJ_CLRSPC_GRAY) else {
            throw JPEG2000EncoderError.openJPEG(step: "opj_image_create")
        }
        defer { opj_image_destroy(image) }
        image.pointee.x0 = 0
        image.pointee.y0 = 0
        image.pointee.x1 = OPJ_UINT32(width)
        image.pointee.y1 = OPJ_UINT32(height)
        let data = image.pointee.comps[0].data!
        samples.withUnsafeBufferPointer { s in
            for i in 0..<s.count { data[i] = OPJ_INT32(s[i]) }
        }

        var parameters = opj_cparameters_t()
        opj_set_default_encoder_parameters(&parameters)
        parameters.tcp_numlayers = 1
        parameters.tcp_rates.0 = 0 // 0 = lossless
        parameters.cp_disto_alloc = 1
        parameters.irreversible = 0
        // Enough decomposition levels for mammograms, but never more than the smaller side allows.
        var levels = 6
        while levels > 1 && min(width, height) < (1 << (levels - 1)) { levels -= 1 }
        parameters.numresolution = OPJ_INT32(levels)

        guard let codec = opj_create_compress(OPJ_CODEC_J2K) else { throw JPEG2000EncoderError.openJPEG(step: "opj_create_compress") }
        defer { opj_destroy_codec(codec) }
        guard opj_setup_encoder(codec, &parameters, image) != 0 else { throw JPEG2000EncoderError.openJPEG(step: "opj_setup_encoder") }
        if threads > 1 { _ = opj_codec_set_threads(codec, OPJ_INT32(threads)) }

        let sink = CodestreamSink()
        let unmanaged = Unmanaged.passRetained(sink)
        guard let stream = opj_stream_create(1 << 20, 0) else {
            unmanaged.release()
            throw JPEG2000EncoderError.openJPEG(step: "opj_stream_create")
        }
        defer { opj_stream_destroy(stream) }
        opj_stream_set_user_data(stream, unmanaged.toOpaque()) { Unmanaged<CodestreamSink>.fromOpaque($0!).release() }
        opj_stream_set_write_function(stream) { buffer, count, user in
            let sink = Unmanaged<CodestreamSink>.fromOpaque(user!).takeUnretainedValue()
            sink.write(UnsafeRawBufferPointer(start: buffer, count: Int(count)))
            return count
        }
        opj_stream_set_skip_function(stream) { offset, user in
            let sink = Unmanaged<CodestreamSink>.fromOpaque(user!).takeUnretainedValue()
            return sink.seek(to: sink.position + Int(offset)) ? offset : -1
        }
        opj_stream_set_seek_function(stream) { offset, user in
            let sink = Unmanaged<CodestreamSink>.fromOpaque(user!).takeUnretainedValue()
            return sink.seek(to: Int(offset)) ? 1 : 0
        }

        guard opj_start_compress(codec, image, stream) != 0 else { throw JPEG2000EncoderError.openJPEG(step: "opj_start_compress") }
        guard opj_encode(codec, stream) != 0 else { throw JPEG2000EncoderError.openJPEG(step: "opj_encode") }
        guard opj_end_compress(codec, stream) != 0 else { throw JPEG2000EncoderError.openJPEG(step: "opj_end_compress") }
        return sink.bytes
    }
}

/// A growable in-memory output for libopenjp2's stream callbacks (it seeks back to patch marker lengths).
private final class CodestreamSink {
    var bytes: [UInt8] = []
    var position = 0

    func write(_ chunk: UnsafeRawBufferPointer) {
        let end = position + chunk.count
        if end > bytes.count { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
        bytes.withUnsafeMutableBytes { dst in
            if let base = chunk.baseAddress { (dst.baseAddress! + position).copyMemory(from: base, byteCount: chunk.count) }
        }
        position = end
    }

    func seek(to offset: Int) -> Bool {
        guard offset >= 0 else { return false }
        if offset > bytes.count { bytes += [UInt8](repeating: 0, count: offset - bytes.count) }
        position = offset
        return true
    }
}
