import Foundation

extension ShardReader {
    /// Reads the records `indices` in that order and hands each payload to `body`, after its frame's SHA-256
    /// matched the index when `verify` is on. The buffer passed to `body` is valid only during the call.
    ///
    /// This is the fast path for reading a whole shard or one large record. Payloads are decoded into two
    /// buffers that the reader keeps for its next call (no allocation, zero-fill or page fault per record),
    /// and with `verify` a second thread hashes the frames (in the mapped file) while the calling thread
    /// decodes them: wall time is about decompression alone, CPU time is both. Stages that already run one
    /// record per core should use `payload(at:)`, which stays on its thread.
    public func forEachPayload(_ indices: [Int], verify: Bool = true,
                               body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        guard !indices.isEmpty else { return }
        let frames = try indices.map { try frameBytes(entries[$0]) }
        let largestPayload = indices.map { entries[$0].rawLength }.max()!
        let payloads = (0..<min(2, indices.count)).map { _ in
            payloadBuffers.take { $0.bytes.count >= largestPayload } ?? PageBuffer(byteCount: largestPayload)
        }
        defer { payloads.forEach(payloadBuffers.giveBack) }
        let hasher = verify ? FrameHasher(frames: frames, expected: indices.map { entries[$0].sha256 }) : nil
        // The hasher reads the mapped file: it must be done with it before the caller may close the reader.
        defer { hasher?.stop() }
        // Record n (in `indices` order) is decoded into payloads[n % 2] and handed to `body` once record n + 1
        // is decoded into the other buffer, before record n + 2 reuses its own.
        func payload(_ n: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: payloads[n % 2].bytes[0..<entries[indices[n]].rawLength])
        }
        func verified(_ n: Int) -> Bool { hasher?.waitVerified(n) ?? true }
        func deliver(_ n: Int) throws {
            guard verified(n) else { throw hashMismatch(entries[indices[n]]) }
            try body(indices[n], UnsafeRawBufferPointer(payload(n)))
        }
        for (n, i) in indices.enumerated() {
            let decoded = Result { try decompress(entries[i], frames[n], into: payload(n)) }
            if n > 0 { try deliver(n - 1) }
            if case .failure(let error) = decoded {
                // A frame that fails to decode is usually corrupt: say so when its hash confirms it.
                guard verified(n) else { throw hashMismatch(entries[i]) }
                throw error
            }
        }
        try deliver(indices.count - 1)
    }
}

/// A thread that checks frames' SHA-256 in order while the caller decodes them; `waitVerified(n)` gives the
/// verdict on frame n. Frames are the stored bytes, independent of decoding, so the hasher simply runs
/// ahead of the decoder, with no hand-off per block.
final class FrameHasher: @unchecked Sendable {
    private let frames: [UnsafeRawBufferPointer]
    private let expected: [[UInt8]]
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var verifiedCount = 0
    private var mismatchAt: Int?
    /// The thread still reads frames: `stop` must wait for it.
    private var running = true
    private var stopping = false

    init(frames: [UnsafeRawBufferPointer], expected: [[UInt8]]) {
        self.frames = frames
        self.expected = expected
        let thread = Thread { [self] in hashLoop() }
        thread.name = "shard-frame-hasher"
        thread.start()
    }

    /// Waits until frame `n` is hashed; false if its hash (or an earlier frame's) differs from the index.
    func waitVerified(_ n: Int) -> Bool {
        condition.withLock {
            while verifiedCount <= n && mismatchAt == nil { condition.wait() }
            return mismatchAt.map { $0 > n } ?? true
        }
    }

    /// Stops the thread and waits until it no longer reads any frame (it ends on its own after the last).
    func stop() {
        condition.withLock {
            stopping = true
            while running { condition.wait() }
        }
    }

    private func hashLoop() {
        for n in frames.indices {
            let matches = Digest.sha256(frames[n]) == expected[n]
            let done = condition.withLock {
                verifiedCount = n + 1
                if !matches { mismatchAt = n }
                if !matches || stopping || n == frames.count - 1 { running = false }
                condition.broadcast()
                return !running
            }
            if done { return }
        }
    }
}
