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
        return try sha256Hex(of: file, size: file.size())
    }

    /// Hashes entry `name` of an open directory (`path` names it in errors) and returns the stamp it had. The
    /// stamp comes from the open descriptor before reading and is checked again after: a file that changed
    /// while it was read is an error, never a hash of mixed content filed under a stamp.
    public static func sha256Stamped(_ name: String, in directory: Int32, path: String) throws -> (sha256: String, stamp: FileStamp) {
        let file = try FileDescriptor(reading: name, in: directory, path: path)
        let stamp = try file.stamp()
        let sha = try sha256Hex(of: file, size: stamp.size)
        guard try file.stamp() == stamp else { throw FileError(path: path, reason: "changed while it was being hashed") }
        return (sha, stamp)
    }

    static func sha256Hex(of file: FileDescriptor, size: Int) throws -> String {
        var hasher = SHA256()
        // A small file is read into a stack buffer: no allocation per file.
        if size <= 16384 {
            return try withUnsafeTemporaryAllocation(byteCount: max(size, 1), alignment: 16) { buffer in
                let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
                try file.read(at: 0, into: bytes)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
                return hasher.finalize().withUnsafeBytes { hex($0) }
            }
        }
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
        return hasher.finalize().withUnsafeBytes { hex($0) }
    }

    /// Lowercase hex, written straight into the String's storage (one allocation: this runs once per file).
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var i = 0
            for b in bytes {
                out[i] = digit(b >> 4)
                out[i + 1] = digit(b & 15)
                i += 2
            }
            return i
        }
    }

    @inline(__always)
    static func digit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") - 10 + v }
}

/// An incremental SHA-256, for hashing a file while it is being written or a record while it is decoded.
public struct StreamingSHA256 {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public func finalize() -> [UInt8] { Array(hasher.finalize()) }
    public func finalizeHex() -> String { Digest.hex(finalize()) }
}
