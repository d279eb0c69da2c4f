import Foundation

extension ShardReader {
    /// Reads the records `indices` in that order and hands each payload to `body`, after its SHA-256 matched
    /// when `verify` is on. The buffer passed to `body` is valid only during the call.
    ///
    /// This is the fast path for reading a whole shard or one large record: frames are read into one reused
    /// buffer and decoded into two reused payload buffers (no allocation, zero-fill or page fault per record),
    /// and with `verify` a second thread hashes each block as soon as the calling thread has decoded it, so
    /// SHA-256 overlaps decompression: wall time is about decompression alone, CPU time is both. Stages that
    /// already run one record per core should use `payload(at:)` instead, which stays on its thread.
    public func forEachPayload(_ indices: [Int], verify: Bool = true,
                               body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        guard !indices.isEmpty else { return }
        let largestPayload = indices.map { entries[$0].rawLength }.max()!
        let payloads = (0..<min(2, indices.count)).map { _ in PageBuffer(byteCount: largestPayload) }
        let hasher = verify ? ConcurrentHasher() : nil
        // The buffers must outlive the hasher's last read of them, also when decoding throws.
        defer { hasher?.stop(); withExtendedLifetime(payloads) {} }
        // Record n (in `indices` order) is decoded into payloads[n % 2]; it is handed to `body` while record
        // n + 1 is being decoded into the other buffer, and before record n + 2 reuses its own.
        func payload(_ n: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: payloads[n % 2].bytes[0..<entries[indices[n]].rawLength])
        }
        func deliver(_ n: Int) throws {
            if let hasher, !hasher.waitVerified(n) { throw hashMismatch(entries[indices[n]]) }
            try body(indices[n], UnsafeRawBufferPointer(payload(n)))
        }
        try decompressors.use { zstd in
            for (n, i) in indices.enumerated() {
                let e = entries[i]
                let frame = try frameBytes(e)
                hasher?.begin(UnsafeRawBufferPointer(payload(n)), expected: e.sha256)
                try decompress(e, zstd, frame, into: payload(n), verify: verify) {
                    hasher?.advance(to: $0)
                }
                if n > 0 { try deliver(n - 1) }
            }
        }
        try deliver(indices.count - 1)
    }
}

/// A second thread that hashes payloads while the calling thread is still decoding them.
/// Records are numbered 0, 1, ... in decoding order. The decoder announces each record with `begin` once the
/// previous one is completely decoded, reports how much of it is decoded with `advance(to:)`, and asks for the
/// verdict with `waitVerified`. The hasher takes decoded bytes in batches of at least `batch` (or the rest of
/// the record), so it sleeps and wakes about once per batch rather than once per zstd block.
final class ConcurrentHasher: @unchecked Sendable {
    private struct Record {
        let payload: UnsafeRawBufferPointer
        let expected: [UInt8]
    }

    /// Small enough to stay in L2 and to leave a short tail to hash after the last block is decoded.
    private let batch = 256 << 10
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var records: [Record] = []
    /// Decoded bytes of the newest record; the ones before it are complete.
    private var decodedBytes = 0
    /// While the hasher sleeps waiting for bytes of the newest record: the count that wakes it.
    private var wakeAt = Int.max
    /// The hasher is reading a payload buffer: `stop` must wait for it.
    private var hashing = false
    private var verifiedCount = 0
    private var mismatchAt: Int?
    private var stopping = false

    init() {
        let thread = Thread { [self] in hashLoop() }
        thread.name = "shard-hasher"
        thread.start()
    }

    func begin(_ payload: UnsafeRawBufferPointer, expected: [UInt8]) {
        condition.withLock {
            records.append(Record(payload: payload, expected: expected))
            decodedBytes = 0
            condition.broadcast()
        }
    }

    func advance(to decoded: Int) {
        condition.withLock {
            decodedBytes = decoded
            if decoded >= wakeAt { condition.broadcast() }
        }
    }

    /// Waits until record `n` is hashed; false if its hash (or an earlier record's) differs from the index.
    func waitVerified(_ n: Int) -> Bool {
        condition.withLock {
            while verifiedCount <= n && mismatchAt == nil { condition.wait() }
            return mismatchAt.map { $0 > n } ?? true
        }
    }

    /// Stops the thread once it no longer reads any payload buffer (it exits on its own when it next wakes).
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
            while hashing { condition.wait() }
        }
    }

    private func hashLoop() {
        var n = 0
        while let record = nextRecord(n) {
            var hasher = StreamingSHA256()
            var hashed = 0
            while hashed < record.payload.count {
                guard let decoded = waitDecoded(n, length: record.payload.count, beyond: hashed) else { return }
                hasher.update(UnsafeRawBufferPointer(rebasing: record.payload[hashed..<decoded]))
                hashed = decoded
            }
            let matches = hasher.finalize() == record.expected
            condition.withLock {
                hashing = false
                verifiedCount = n + 1
                if !matches { mismatchAt = n }
                condition.broadcast()
            }
            if !matches { return }
            n += 1
        }
    }

    /// Record `n`, once the decoder has begun it; nil when stopping.
    private func nextRecord(_ n: Int) -> Record? {
        condition.withLock {
            while !stopping && records.count <= n { condition.wait() }
            hashing = !stopping
            return stopping ? nil : records[n]
        }
    }

    /// How many leading bytes of record `n` are decoded, once a batch more than `hashed` (or the rest of the
    /// record) is; nil when stopping.
    private func waitDecoded(_ n: Int, length: Int, beyond hashed: Int) -> Int? {
        condition.withLock {
            let wanted = min(hashed + batch, length)
            while !stopping {
                let decoded = n < records.count - 1 ? length : decodedBytes
                if decoded >= wanted { return decoded }
                wakeAt = wanted
                condition.wait()
                wakeAt = .max
            }
            hashing = false
            condition.broadcast()
            return nil
        }
    }
}
