import CZstd

/// zstd compression with a reusable context. Not thread-safe: use one per thread.
public final class ZstdCompressor {
    private let context: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 3) {
        guard let ctx = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx failed: out of memory") }
        context = ctx
        self.level = level
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
        // Deterministic frames: no dictionary id, checksum on (cheap, lets `verify` catch rot without the index).
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// One complete zstd frame holding `input`.
    public func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compress2(context, out.baseAddress, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 { throw ZstdError(operation: "compress", code: written) }
        output.removeSubrange(written...)
        return output
    }

    public func compress(_ input: [UInt8]) throws -> [UInt8] {
        try input.withUnsafeBytes { try compress($0) }
    }
}

/// zstd decompression with a reusable context. Not thread-safe: use one per thread.
public final class ZstdDecompressor {
    private let context: OpaquePointer

    public init() {
        guard let ctx = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx failed: out of memory") }
        context = ctx
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame straight into `destination` (no zero-filled array, no copy), whose size must be
    /// the frame's content size (from the shard index): a frame that declares or yields another size is
    /// corrupt, and nothing larger than `destination` is ever written. zstd checks the frame's XXH64 content
    /// checksum when it has one (shard writers always set it).
    public func decompress(_ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws {
        let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw ZstdError(operation: "decompress", reason: "not a zstd frame (\(frame.count) bytes)")
        }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(destination.count) {
            throw ZstdError(operation: "decompress", reason: "frame declares \(declared) bytes, index says \(destination.count)")
        }
        let got = ZSTD_decompressDCtx(context, destination.baseAddress, destination.count, frame.baseAddress, frame.count)
        if ZSTD_isError(got) != 0 { throw ZstdError(operation: "decompress", code: got) }
        guard got == destination.count else {
            throw ZstdError(operation: "decompress", reason: "frame holds \(got) bytes, index says \(destination.count)")
        }
    }

    /// Decompresses one frame of `expectedSize` bytes into a new array (see `decompress(_:into:)`).
    public func decompress(_ frame: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: expectedSize) { out, count in
            try decompress(frame, into: UnsafeMutableRawBufferPointer(out))
            count = expectedSize
        }
    }

    public func decompress(_ frame: [UInt8], expectedSize: Int) throws -> [UInt8] {
        try frame.withUnsafeBytes { try decompress($0, expectedSize: expectedSize) }
    }
}

public struct ZstdError: Error, CustomStringConvertible {
    public let operation: String
    public let reason: String

    init(operation: String, code: Int) {
        self.operation = operation
        self.reason = String(cString: ZSTD_getErrorName(code))
    }

    init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "zstd \(operation) failed: \(reason)" }
}
