import Crypto

/// SHA-256 helpers that speak lowercase hex, the form used in object names, manifests and cache keys.
public enum Digest {
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha256($0) }
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(sha256(bytes)) }

    public static func sha256Hex(_ text: String) -> String { sha256Hex(Array(text.utf8)) }

    /// Hashes a file in 1 MiB pieces (memory stays flat for any size).
    public static func sha256Hex(file path: String) throws -> String {
        let file = try FileDescriptor(reading: path)
        let size = try file.size()
        var hasher = SHA256()
        let chunk = 1 << 20
        // A small file gets a small buffer: zero-filling 1 MiB per file dominated hashing 54,706 tiny files.
        var buffer = [UInt8](repeating: 0, count: min(chunk, max(size, 1)))
        var offset = 0
        while offset < size {
            let n = min(chunk, size - offset)
            try buffer.withUnsafeMutableBytes { try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
        return hex(Array(hasher.finalize()))
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An incremental SHA-256, for hashing a file while it is being written or a record while it is decoded.
public struct StreamingSHA256 {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public func finalize() -> [UInt8] { Array(hasher.finalize()) }
    public func finalizeHex() -> String { Digest.hex(finalize()) }
}
