import CBLAS
import Foundation
import Dispatch

/// Threading policy. Our loops split across `Threads.count` workers; OpenBLAS is kept single-threaded and
/// called from inside those workers (each on its own slice of the batch), so the machine never runs more
/// busy threads than cores: no OpenBLAS pool spinning next to ours.
public enum Threads {
    nonisolated(unsafe) public private(set) static var count = 1

    /// Sets how many cores our loops use (default 1). Call before training, not while a step runs.
    public static func configure(_ threads: Int) {
        count = max(1, threads)
        openblas_set_num_threads(1)
    }
}

/// Runs `body(worker)` for worker in 0..<workers concurrently and waits for all.
func parallelWorkers(_ workers: Int, _ body: (Int) -> Void) {
    if workers <= 1 { body(0); return }
    DispatchQueue.concurrentPerform(iterations: workers, execute: body)
}

/// Reductions never follow the split across workers: a sum over the batch (weight gradients, batch-norm
/// statistics) is cut into parts whose bounds depend only on the problem size, each part's partial sum is
/// computed from zero into its own buffer by whichever worker takes the part, and the partials are added
/// in part order. So one seed and one input give bit-identical weights with any `Threads.count`.
/// Sums over the batch use up to this many parts (of contiguous samples): enough to keep four workers
/// busy, few enough that the partial weight gradients and the adds folding them stay small.
let reductionParts = 4

/// The number of parts a batch of `samples` images is cut into for reductions (see `reductionParts`).
func sampleParts(_ samples: Int) -> Int { min(samples, reductionParts) }

/// Runs `body(part, worker)` for every part in 0..<parts, spreading contiguous runs of parts over at
/// most `Threads.count` workers. What a part computes must depend on `part` only (`worker` picks scratch).
func parallelParts(_ parts: Int, _ body: (_ part: Int, _ worker: Int) -> Void) {
    guard parts > 0 else { return }
    let workers = min(Threads.count, parts)
    parallelWorkers(workers) { w in
        for part in chunk(parts, workers, w) { body(part, w) }
    }
}

/// Splits 0..<n into at most `Threads.count` contiguous ranges of at least `grain` items and runs them in parallel.
func parallelRange(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(Threads.count, max(1, n / max(grain, 1)))
    if workers <= 1 { if n > 0 { body(0..<n) }; return }
    parallelWorkers(workers) { w in
        let r = chunk(n, workers, w)
        if !r.isEmpty { body(r) }
    }
}

/// The w-th of `parts` near-equal contiguous pieces of 0..<n.
func chunk(_ n: Int, _ parts: Int, _ w: Int) -> Range<Int> {
    (n * w / parts)..<(n * (w + 1) / parts)
}

/// C = alpha * op(A) * op(B) + beta * C, row-major, single-threaded OpenBLAS (callers parallelise).
/// op(A) is (m x k), op(B) is (k x n), C is (m x n).
@inline(__always)
func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
          beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Per-worker scratch buffers reused across calls, so hot loops do not allocate. Workers ask for their
/// buffers concurrently: the slot list is guarded by a lock and each worker only ever resizes its own slot.
final class Workspace {
    private final class Slot {
        var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        var size = 1
        deinit { pointer.deallocate() }
    }
    private let lock = NSLock()
    private var slots: [Slot] = []

    /// A buffer of at least `count` floats private to `worker` (contents undefined).
    func buffer(_ worker: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        while slots.count <= worker { slots.append(Slot()) }
        let slot = slots[worker]
        lock.unlock()
        if slot.size < count {
            slot.pointer.deallocate()
            slot.pointer = .allocate(capacity: count)
            slot.size = count
        }
        return slot.pointer
    }
}
