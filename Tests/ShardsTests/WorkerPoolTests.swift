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
    let release = DispatchSemaphore(value: 0), busy = DispatchSemaphore(value: 0)
    for _ in 0..<pool.limit { pool.submit { busy.signal(); release.wait() } }
    for _ in 0..<pool.limit { busy.wait() }
    var ran = 0
    try concurrentPerformThrowing(iterations: 8) { _ in ran += 1 }
    #expect(ran == 8)
    for _ in 0..<pool.limit { release.signal() }
}
