#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Parses a stage's `progress DONE TOTAL` line (docs/stage-contract.md).
public func parseProgressLine(_ line: String) -> (done: Int, total: Int)? {
    let fields = line.split(separator: " ")
    guard fields.count == 3, fields[0] == "progress", let done = Int(fields[1]), let total = Int(fields[2]),
          done >= 0, total >= 0 else { return nil }
    return (done, total)
}

/// One progress display for all running jobs: on a terminal a bar redrawn in place with job and record
/// counts and an ETA; otherwise plain lines, at most one every few seconds, so logs stay readable.
public final class ProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal: Bool
    private let write: (String) -> Void
    private var jobsTotal = 0
    private var jobsDone = 0
    private var counts: [String: (done: Int, total: Int)] = [:]
    private var running: [String] = []
    /// Batch-system states of running jobs, by label.
    private var states: [String: String] = [:]
    private var started: Double?
    private var lastDraw = 0.0
    private var lineOpen = false

    public init(isTerminal: Bool = isatty(2) != 0, write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTerminal = isTerminal
        self.write = write
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    public func addJobs(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        jobsTotal += n
    }

    public func jobStarted(_ label: String) {
        lock.lock(); defer { lock.unlock() }
        if started == nil { started = Self.now() }
        running.append(label)
        if !isTerminal { emit("start \(label)") } else { draw(force: true) }
    }

    public func jobProgress(_ label: String, done: Int, total: Int) {
        lock.lock(); defer { lock.unlock() }
        counts[label] = (done, total)
        draw(force: false)
    }

    /// A job's state in a batch system (`PENDING`, `RUNNING`, ...), shown beside its label.
    public func jobState(_ label: String, _ state: String) {
        lock.lock(); defer { lock.unlock() }
        guard running.contains(label) else { return }
        states[label] = state
        if !isTerminal { emit("\(state.lowercased()) \(label)") } else { draw(force: true) }
    }

    public func jobFinished(_ label: String, ok: Bool, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        jobsDone += 1
        running.removeAll { $0 == label }
        states[label] = nil
        if let c = counts[label], ok { counts[label] = (c.total, c.total) }
        emit("\(ok ? "done" : "FAILED") \(label) (\(String(format: "%.1f", seconds)) s)")
        draw(force: true)
    }

    /// A message above the bar.
    public func message(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        emit(text)
        draw(force: true)
    }

    public func finish() {
        lock.lock(); defer { lock.unlock() }
        if lineOpen { write("\r\u{1B}[K"); lineOpen = false }
    }

    private func emit(_ text: String) {
        if lineOpen { write("\r\u{1B}[K"); lineOpen = false }
        write(text + "\n")
    }

    /// Records done and total over all jobs that reported, and the ETA from the rate so far.
    func summaryText() -> String {
        let done = counts.values.reduce(0) { $0 + $1.done }
        let total = counts.values.reduce(0) { $0 + $1.total }
        var text = "\(jobsDone)/\(jobsTotal) jobs"
        if total > 0 {
            text += "  \(done)/\(total) records"
            if let started, done > 0, done < total {
                let elapsed = Self.now() - started
                let eta = elapsed * Double(total - done) / Double(done)
                text += "  ETA \(Self.duration(eta))"
            }
        }
        return text
    }

    /// The running jobs' labels, each with its batch-system state when it has one: `decode#1/2:PENDING`.
    func runningText() -> String {
        running.map { label in states[label].map { "\(label):\($0)" } ?? label }.joined(separator: " ")
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    private func draw(force: Bool) {
        let now = Self.now()
        if isTerminal {
            guard force || now - lastDraw >= 0.1 else { return }
            lastDraw = now
            let done = counts.values.reduce(0) { $0 + $1.done }, total = counts.values.reduce(0) { $0 + $1.total }
            let fraction = total > 0 ? Double(done) / Double(total) : (jobsTotal > 0 ? Double(jobsDone) / Double(jobsTotal) : 0)
            let width = 24
            let filled = min(width, Int(fraction * Double(width)))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\u{1B}[K[\(bar)] \(summaryText())  \(runningText())")
            lineOpen = true
        } else {
            guard !force, now - lastDraw >= 5 else { return }
            lastDraw = now
            write("progress: \(summaryText())  running: \(runningText())\n")
        }
    }
}
