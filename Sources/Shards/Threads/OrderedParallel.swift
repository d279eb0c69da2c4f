import Foundation

/// Runs `work` on items 0..<count with `threads` workers and hands the results to `consume` in index order,
/// on the calling thread. At most `window` results wait at once, so memory stays bounded by a few items
/// however uneven their cost (a slow image holds back output, not the workers, until the window fills).
/// Deterministic output order is what makes shards byte-identical across runs.
public func orderedParallelMap<Result>(
    count: Int, threads: Int, window: Int? = nil,
    work: @escaping (Int) -> Result,
    consume: (Int, Result) throws -> Void
) rethrows {
    guard count > 0 else { return }
    let threads = max(1, min(threads, count))
    if threads == 1 {
        for i in 0..<count { try consume(i, work(i)) }
        return
    }
    let window = max(window ?? 2 * threads, threads)
    let shared = OrderedMapState<Result>()
    let condition = shared.condition
    nonisolated(unsafe) let work = work

    let group = DispatchGroup()
    for _ in 0..<threads {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            while true {
                condition.lock()
                while !shared.stop && shared.next < count && shared.next >= shared.consumed + window { condition.wait() }
                if shared.stop || shared.next >= count { condition.unlock(); return }
                let i = shared.next
                shared.next += 1
                condition.unlock()
                let result = work(i)
                condition.lock()
                shared.ready[i] = result
                condition.broadcast()
                condition.unlock()
            }
        }
    }
    defer {
        condition.lock()
        shared.stop = true
        condition.broadcast()
        condition.unlock()
        group.wait()
    }
    for i in 0..<count {
        condition.lock()
        while shared.ready[i] == nil { condition.wait() }
        let result = shared.ready.removeValue(forKey: i)!
        shared.consumed = i + 1
        condition.broadcast()
        condition.unlock()
        try consume(i, result)
    }
}

/// Shared between the workers and the consumer of `orderedParallelMap`; every field is guarded by `condition`.
private final class OrderedMapState<Result>: @unchecked Sendable {
    let condition = NSCondition()
    var next = 0
    var consumed = 0
    var stop = false
    var ready: [Int: Result] = [:]
}
