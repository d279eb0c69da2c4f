import ArgumentParser
import Foundation
import Pipeline

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Rehash every object in the cache; move corrupt ones to cache/quarantine so the next run rebuilds them."
    )

    @OptionGroup var cacheOptions: CacheOptions

    func run() throws {
        try cacheOptions.requireExisting(for: "verify")
        let lock = try cacheOptions.lock(command: "mammoflow verify")
        defer { lock.release() }
        let display = ProgressDisplay()
        let report = cacheOptions.store.verify { done, total in display.jobProgress("verify", done: done, total: total) }
        display.finish()
        print("checked \(report.checked) objects (\(report.bytes) bytes)")
        for (id, reason) in report.corrupt { print("corrupt \(id): \(reason) -> quarantined") }
        for run in report.affectedRuns { print("stale now: \(run)") }
        if !report.corrupt.isEmpty { throw ExitCode(1) }
    }
}
