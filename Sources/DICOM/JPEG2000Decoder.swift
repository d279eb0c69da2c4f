import Foundation
import COpenJPEG

/// JPEG 2000 (.90/.91) through libopenjp2, with its thread pool and reduced-resolution decoding:
/// `reduce` r skips the r finest wavelet levels, so the output is ceil(size / 2^r) on each side and the work
/// about 4^r times less. Strict mode makes a truncated codestream an error rather than a partial image.
enum JPEG2000Decoder {
    /// What was decoded; the samples themselves are handed to the caller's body.
    struct Layout {
        var width: Int
        var height: Int
        /// The resolution reduction applied (at most the codestream's decomposition levels).
        var reduced: Int
        var precision: Int
        var signed: Bool
    }

    /// Reader state behind the C stream callbacks and the error message sink.
    private final class Source {
        let base: UnsafeRawPointer
        let count: Int
        var position = 0
        var messages: [String] = []
        init(_ bytes: UnsafeRawBufferPointer) {
            base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            count = bytes.count
        }
    }

    /// `expectedWidth` x `expectedHeight` (the DICOM header's) must match the codestream before anything is
    /// allocated for it. `body` gets the samples in libopenjp2's own buffer (row-major, which it may change in
    /// place), valid during the call: a full-size image is not copied.
    static func decode<T>(_ data: UnsafeRawBufferPointer, expectedWidth: Int, expectedHeight: Int,
                          reduce: Int, threads: Int, file: String,
                          _ body: (Layout, UnsafeMutableBufferPointer<Int32>) throws -> T) throws -> T {
        let source = Source(data)
        func corrupt(_ reason: String) -> DICOMError {
            let detail = source.messages.isEmpty ? "" : " (openjpeg: \(source.messages.joined(separator: "; ")))"
            return DICOMError(file: file, kind: .corruptPixels, reason: "JPEG 2000: \(reason)\(detail)")
        }
        guard data.count >= 12 else { throw corrupt("codestream of \(data.count) bytes") }
        // A JP2 file starts with its signature box; a raw codestream with SOC SIZ (FF4F FF51).
        let isJP2 = data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 0x0C
        guard let codec = opj_create_decompress(isJP2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K) else { throw corrupt("cannot create decoder") }
        var codecAlive = true
        defer { if codecAlive { opj_destroy_codec(codec) } }
        let unmanaged = Unmanaged.passRetained(source)
        let userData = unmanaged.toOpaque()
        defer { unmanaged.release() }
        opj_set_error_handler(codec, { message, client in
            guard let message, let client else { return }
            let source = Unmanaged<Source>.fromOpaque(client).takeUnretainedValue()
            if source.messages.count < 4 {
                source.messages.append(String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }, userData)
        opj_set_warning_handler(codec, { _, _ in }, nil)
        opj_set_info_handler(codec, { _, _ in }, nil)

        var parameters = opj_dparameters_t()
        opj_set_default_decoder_parameters(&parameters)
        guard opj_setup_decoder(codec, &parameters) != 0 else { throw corrupt("decoder setup failed") }
        opj_decoder_set_strict_mode(codec, 1)
        if threads > 1 { _ = opj_codec_set_threads(codec, Int32(threads)) }

        guard let stream = opj_stream_create(1 << 20, 1) else { throw corrupt("cannot create stream") }
        defer { opj_stream_destroy(stream) }
        opj_stream_set_user_data(stream, userData, nil)
        opj_stream_set_user_data_length(stream, UInt64(data.count))
        opj_stream_set_read_function(stream) { buffer, n, user in
            let s = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
            let k = min(n, s.count - s.position)
            if k <= 0 { return OPJ_SIZE_T.max }  // (OPJ_SIZE_T)-1: end of stream
            buffer!.copyMemory(from: s.base + s.position, byteCount: k)
            s.position += k
            return k
        }
        opj_stream_set_skip_function(stream) { n, user in
            let s = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
            let target = min(max(0, s.position + Int(n)), s.count)
            let moved = target - s.position
            s.position = target
            return OPJ_OFF_T(moved)
        }
        opj_stream_set_seek_function(stream) { n, user in
            let s = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
            guard n >= 0, Int(n) <= s.count else { return 0 }
            s.position = Int(n)
            return 1
        }

        var imagePointer: UnsafeMutablePointer<opj_image_t>? = nil
        guard opj_read_header(stream, codec, &imagePointer) != 0, let header = imagePointer else {
            throw corrupt("cannot read the codestream header")
        }
        defer { opj_image_destroy(header) }
        guard header.pointee.numcomps >= 1 else { throw corrupt("no components") }
        let width = Int(header.pointee.x1) - Int(header.pointee.x0), height = Int(header.pointee.y1) - Int(header.pointee.y0)
        guard width == expectedWidth, height == expectedHeight else {
            throw corrupt("codestream is \(width)x\(height), the DICOM header says \(expectedWidth)x\(expectedHeight)")
        }

        // Never ask for more reduction than the codestream has wavelet levels.
        var levels = 0
        if let info = opj_get_cstr_info(codec) {
            var infoPointer: UnsafeMutablePointer<opj_codestream_info_v2_t>? = info
            if let tccp = info.pointee.m_default_tile_info.tccp_info {
                levels = Int(tccp.pointee.numresolutions) - 1
            }
            opj_destroy_cstr_info(&infoPointer)
        }
        let applied = max(0, min(reduce, levels))
        if applied > 0 {
            guard opj_set_decoded_resolution_factor(codec, UInt32(applied)) != 0 else { throw corrupt("cannot reduce by \(applied)") }
        }
        guard opj_decode(codec, stream, header) != 0, opj_end_decompress(codec, stream) != 0 else {
            throw corrupt("decoding failed")
        }
        // The codec's code-block and codestream buffers go before the samples are copied out.
        opj_destroy_codec(codec)
        codecAlive = false
        let component = header.pointee.comps[0]
        guard let samples = component.data else { throw corrupt("no decoded samples") }
        let w = Int(component.w), h = Int(component.h)
        return try body(Layout(width: w, height: h, reduced: applied, precision: Int(component.prec), signed: component.sgnd != 0),
                        UnsafeMutableBufferPointer(start: samples, count: w * h))
    }
}
