import Foundation

extension Process {
    /// Starts the process; `wait()` on the answer returns once it has exited. Foundation's `waitUntilExit`
    /// on Linux polls its run loop every 50 ms, so each child cost up to 50 ms after its end: a `run` on a new
    /// cache asks nine executables for their params (0.45 s before its first stage started), and each stage
    /// job waited once more. The termination handler runs as soon as the child is reaped.
    public func start() throws -> ProcessExit {
        let exited = DispatchSemaphore(value: 0)
        terminationHandler = { _ in exited.signal() }
        try run()
        return ProcessExit(exited: exited)
    }
}

/// The end of a process started with `Process.start()`.
public struct ProcessExit: @unchecked Sendable {
    let exited: DispatchSemaphore

    /// Blocks until the process has exited (its `terminationStatus` is then valid). Call at most once.
    public func wait() { exited.wait() }
}
