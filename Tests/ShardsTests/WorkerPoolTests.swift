import Foundation
import Testing
@testable import Shards

@Test func concurrentPerformThrowingRunsEveryIterationOnceAndRethrowsTheError() throws {
    struct Failure: Error { let i: Int }
    let lock = NSLock()
    var seen = [Int](repeating: 0, count: 100)
    #expect(throws: Failure.self) {
        try concurrentPerformThrowing(iterations: 100) { i in
            lock.withLock { seen[i] += 1 }
            if i == 40 { throw Failure(i: i) }
        }
    }
    #expect(seen == [Int](repeating: 1, count: 100))
    // Nested loops (a part decoded inside a stage's parallel loop) finish too.
    var total = 0
    try concurrentPerformThrowing(iterations: 4) { _ in
        try concurrentPerformThrowing(iterations: 4) { _ in lock.withLock { total += 1 } }
    }
    #expect(total == 16)
}

@Test func aBusyPoolDoesNotHoldTheCallerUp() throws {
    // Every pool thread blocked: the caller runs all iterations itself and withdraws its helpers.
    let pool = WorkerPool.shared
    let release = DispatchSemaphore(value: 0), busy = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
    for _ in 0..<pool.limit { pool.submit { busy.signal(); release.wait() } }
    for _ in 0..<pool.limit { busy.wait() }
    let ran = LockedCount()
    DispatchQueue.global().async {
        try? concurrentPerformThrowing(iterations: 8) { _ in ran.add() }
        done.signal()
    }
    let finished = done.wait(timeout: .now() + 30) == .success
    #expect(finished, "the caller waited for a helper that could not start")
    for _ in 0..<pool.limit { release.signal() }
    if !finished { done.wait() }
    #expect(ran.value == 8)
}

private final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
