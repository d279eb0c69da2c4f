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
        // Started before the buffers, so that it hashes while a new buffer faults in.
        let hasher = verify ? FrameHasher(frames: frames, expected: indices.map { entries[$0].sha256 }) : nil
        // The hasher reads the mapped file: it must be done with it before the caller may close the reader.
        defer { hasher?.stop() }
        let largestPayload = indices.map { entries[$0].rawLength }.max()!
        let payloads = (0..<min(2, indices.count)).map { _ in
            payloadBuffers.take { $0.bytes.count >= largestPayload } ?? PageBuffer(byteCount: largestPayload)
        }
        defer { payloads.forEach(payloadBuffers.giveBack) }
        // Record n (in `indices` order) is decoded into payloads[n % 2] and handed to `body` once record n + 1
        // is decoded into the other buffer, before record n + 2 reuses its own.
        func payload(_ n: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: payloads[n % 2].bytes[0..<entries[indices[n]].rawLength])
        }
        func verified(_ n: Int) -> Bool { hasher?.verified(n) ?? true }
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

/// Checks frames' SHA-256 on a second thread while the caller decodes them; `verified(n)` gives the
/// verdict on frame n. Frames are the stored bytes, independent of decoding, so the helper simply runs
/// ahead of the decoder, taking frames in order. When the caller needs a verdict on a frame the helper has
/// not taken (it started late or is starved on a busy machine), the caller hashes that frame itself rather
/// than wait for the helper to be scheduled.
final class FrameHasher: @unchecked Sendable {
    private let frames: [UnsafeRawBufferPointer]
    private let expected: [[UInt8]]
    private let condition = NSCondition()
    // Guarded by `condition`:
    /// Frames before this one have been taken, by the helper or the caller.
    private var taken = 0
    private var matches: [Bool?]
    /// The helper is reading a frame: `stop` must wait for it.
    private var helperHashing = false
    private var stopping = false
    /// The helper's job in the worker pool.
    private var ticket = 0

    init(frames: [UnsafeRawBufferPointer], expected: [[UInt8]]) {
        self.frames = frames
        self.expected = expected
        matches = Array(repeating: nil, count: frames.count)
        ticket = WorkerPool.shared.submit { [self] in helperLoop() }
    }

    /// Whether frame `n`'s SHA-256 matches the index. Call in order: 0, 1, 2...
    func verified(_ n: Int) -> Bool {
        let hashHere: Bool = condition.withLock {
            guard taken == n else { return false }
            taken += 1
            return true
        }
        if hashHere { return check(n) }
        return condition.withLock {
            while matches[n] == nil { condition.wait() }
            return matches[n]!
        }
    }

    /// Stops the helper and waits until it no longer reads any frame.
    func stop() {
        _ = WorkerPool.shared.withdraw(ticket)
        condition.withLock {
            stopping = true
            while helperHashing { condition.wait() }
        }
    }

    private func check(_ n: Int) -> Bool {
        let match = Digest.sha256(frames[n]) == expected[n]
        condition.withLock {
            matches[n] = match
            condition.broadcast()
        }
        return match
    }

    private func helperLoop() {
        while true {
            let n: Int? = condition.withLock {
                helperHashing = !stopping && taken < frames.count
                if !helperHashing { condition.broadcast(); return nil }
                taken += 1
                return taken - 1
            }
            guard let n else { return }
            if !check(n) { condition.withLock { stopping = true } }
        }
    }
}
