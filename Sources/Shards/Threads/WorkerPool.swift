#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Threads started on demand, at most one per core, and kept for the life of the process: they run the
/// shard reader's hashing and the parts of large records, and the writer's part compression.
///
/// Why not GCD or Foundation's `Thread`: in a fresh process either takes longer to bring up its first worker
/// than decoding a whole 2 MiB record takes, which is what every one-record read (`mammoflow shard cat --key`,
/// `show --id`) pays. A pthread starts an order of magnitude sooner (docs/measurements.md).
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(limit: max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// The most threads this pool starts.
    let limit: Int
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [(ticket: Int, job: () -> Void)] = []
    private var lastTicket = 0
    private var started = 0
    private var idle = 0

    init(limit: Int) { self.limit = limit }

    /// Queues `job` for the next free thread, starting one if none is free and the limit allows.
    /// Returns a ticket for `withdraw`.
    @discardableResult
    func submit(_ job: @escaping () -> Void) -> Int {
        condition.withLock {
            lastTicket += 1
            queue.append((lastTicket, job))
            if queue.count > idle && started < limit {
                started += 1
                startThread()
            } else {
                condition.signal()
            }
            return lastTicket
        }
    }

    /// Removes a job no thread has taken yet; false when one has (it runs, or has run, to its end).
    func withdraw(_ ticket: Int) -> Bool {
        condition.withLock {
            guard let i = queue.firstIndex(where: { $0.ticket == ticket }) else { return false }
            queue.remove(at: i)
            return true
        }
    }

    private func startThread() {
        var thread = pthread_t()
        let pool = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { pool in
            Unmanaged<WorkerPool>.fromOpaque(pool!).takeRetainedValue().serve()
        }, pool)
        guard status == 0 else { fatalError("cannot start a worker thread: \(String(cString: strerror(status)))") }
        pthread_detach(thread)
    }

    private func serve() -> Never {
        while true {
            let job: () -> Void = condition.withLock {
                idle += 1
                while queue.isEmpty { condition.wait() }
                idle -= 1
                return queue.removeFirst().job
            }
            job()
        }
    }
}

/// Runs `first` and `second` at the same time (one on the calling thread, the other on a pool thread when one
/// is free), e.g. reading one file while parsing another; rethrows the first error once both are done.
public func concurrently(_ first: () throws -> Void, _ second: () throws -> Void) throws {
    try concurrentPerformThrowing(iterations: 2) { try $0 == 0 ? first() : second() }
}

/// `DispatchQueue.concurrentPerform` for a body that throws, on the worker pool: the calling thread and up
/// to `iterations - 1` pool threads take iterations in turn; every iteration runs, then the first error (in
/// the order they happened) is rethrown. Helpers that have not started when the caller runs out of
/// iterations are withdrawn, so a busy pool never makes the caller wait for more than the iterations in flight.
func concurrentPerformThrowing(iterations: Int, _ body: (Int) throws -> Void) throws {
    guard iterations > 1 else {
        if iterations == 1 { try body(0) }
        return
    }
    try withoutActuallyEscaping(body) { body in
        let loop = SharedLoop(iterations: iterations, body: body)
        let pool = WorkerPool.shared
        let tickets = (0..<min(iterations - 1, pool.limit)).map { _ in pool.submit { loop.run(); loop.helperFinished() } }
        loop.run()
        let running = tickets.filter { !pool.withdraw($0) }.count
        try loop.finish(waitingFor: running)
    }
}

/// The iterations of one `concurrentPerformThrowing`, shared by the threads that run them.
private final class SharedLoop: @unchecked Sendable {
    private let condition = NSCondition()
    private let iterations: Int
    // Guarded by `condition`:
    /// Dropped by `finish`, so that no helper holds the caller's closure once the caller returns.
    private var body: ((Int) throws -> Void)?
    private var next = 0
    private var finishedHelpers = 0
    private var failure: Error?

    init(iterations: Int, body: @escaping (Int) throws -> Void) {
        self.iterations = iterations
        self.body = body
    }

    /// Runs iterations until none is left.
    func run() {
        while let (i, body) = condition.withLock({ () -> (Int, (Int) throws -> Void)? in
            guard next < iterations, let body else { return nil }
            next += 1
            return (next - 1, body)
        }) {
            do { try body(i) } catch { condition.withLock { failure = failure ?? error } }
        }
    }

    func helperFinished() {
        condition.withLock {
            finishedHelpers += 1
            condition.broadcast()
        }
    }

    /// Waits for `helpers` helpers to finish, lets go of the body, and rethrows the first error.
    func finish(waitingFor helpers: Int) throws {
        let error: Error? = condition.withLock {
            while finishedHelpers < helpers { condition.wait() }
            body = nil
            return failure
        }
        if let error { throw error }
    }
}
