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
        var written = 0
        // Not zero-filled first: zstd writes what it returns, and the rest is dropped.
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            written = ZSTD_compress2(context, out.baseAddress, bound, input.baseAddress, input.count)
            count = ZSTD_isError(written) != 0 ? 0 : written
        }
        if ZSTD_isError(written) != 0 { throw ZstdError(operation: "compress", code: written) }
        return output
    }

    public func compress(_ input: [UInt8]) throws -> [UInt8] {
        try input.withUnsafeBytes { try compress($0) }
    }
}

/// One frame of a record stored as consecutive zstd frames: its bytes and where its content goes.
public struct ZstdPart {
    public let frame: UnsafeRawBufferPointer
    public let contentOffset: Int
    public let contentSize: Int

    /// Splits `stored` into its frames, each of which must declare its content size; together they must hold
    /// exactly `expectedSize` bytes. Only frame headers are read (no decoding).
    public static func split(_ stored: UnsafeRawBufferPointer, expectedSize: Int) throws -> [ZstdPart] {
        var parts: [ZstdPart] = []
        var position = 0, content = 0
        repeat {
            let rest = UnsafeRawBufferPointer(rebasing: stored[position...])
            let length = ZSTD_findFrameCompressedSize(rest.baseAddress, rest.count)
            if ZSTD_isError(length) != 0 { throw ZstdError(operation: "decompress", code: length) }
            let size = ZSTD_getFrameContentSize(rest.baseAddress, length)
            if size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN {
                throw ZstdError(operation: "decompress", reason: "frame at byte \(position) does not declare its content size")
            }
            guard size <= UInt64(expectedSize - content) else {
                throw ZstdError(operation: "decompress", reason: "frames declare more than the \(expectedSize) bytes the index says")
            }
            parts.append(ZstdPart(frame: UnsafeRawBufferPointer(rebasing: rest[..<length]), contentOffset: content, contentSize: Int(size)))
            position += length
            content += Int(size)
        } while position < stored.count
        guard content == expectedSize else {
            throw ZstdError(operation: "decompress", reason: "frames declare \(content) bytes, index says \(expectedSize)")
        }
        return parts
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
