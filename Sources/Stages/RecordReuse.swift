import Foundation
import Shards

extension RecordReuse {
    /// The own inputs of a record made from one input record: its key, its stored frame's SHA-256 (which names
    /// its payload: frames depend only on the payload) and its metadata.
    public static func digest(of ref: RecordRef) -> String {
        digest(["key": .string(ref.key), "frame": .string(Digest.hex(ref.shard.entries[ref.index].sha256)), "metadata": ref.metadata])
    }
}

/// A record a job would write, by key, with the digest of its own inputs (nil when it cannot be copied, e.g.
/// an image without its table row).
public typealias ReuseCandidate = (key: String, inputs: String?)

/// The records of the earlier artifact named by the job's `reuse`, by key, with the own-inputs digest each
/// was made from.
public final class EarlierRecords: @unchecked Sendable {
    struct Stored {
        let shard: ShardReader
        let index: Int
        let metadata: JSONValue
        let inputs: String
    }
    private let byKey: [String: Stored]

    init(_ shards: [ShardReader]) throws {
        var byKey: [String: Stored] = [:]
        for shard in shards {
            let metadata = try InputIntegrityError.checking(shard.path) { try shard.metadata() }
            for (i, m) in metadata.enumerated() {
                guard let inputs = m[RecordReuse.field]?.stringValue else { continue }
                byKey[shard.entries[i].key] = Stored(shard: shard, index: i, metadata: m, inputs: inputs)
            }
        }
        self.byKey = byKey
    }

    public var count: Int { byKey.count }

    /// Whether the earlier artifact has record `key` made from the same own inputs (nothing is read).
    public func has(key: String, inputs: String) -> Bool { byKey[key]?.inputs == inputs }

    /// How many of a job's records (key and own-inputs digest; nil: one that cannot be copied) the earlier
    /// artifact has, made from the same own inputs.
    public func copyable(_ records: [ReuseCandidate]) -> Int {
        records.filter { record in record.inputs.map { has(key: record.key, inputs: $0) } ?? false }.count
    }

    /// Checks every record's frame against its shard's SHA-256, as `copy` does, `threads` at a time: a
    /// mismatch is an `InputIntegrityError` naming the shard and the record.
    func verifyEveryFrame(threads: Int) throws {
        let stored = byKey.sorted { $0.key < $1.key }.map(\.value)
        try orderedParallelMap(count: stored.count, threads: threads, work: { i -> Error? in
            do {
                _ = try InputIntegrityError.checking(stored[i].shard.path) { try stored[i].shard.verifiedFrame(at: stored[i].index) }
                return nil
            } catch { return error }
        }, consume: { _, error in if let error { throw error } })
    }

    /// The earlier record `key` with its metadata when it was made from the same own inputs (`inputs`, a
    /// `RecordReuse.digest`), its frame checked against its shard's SHA-256: a mismatch is an
    /// `InputIntegrityError` (the store is damaged; never copied). Nil when there is no such record.
    public func copy(key: String, inputs: String) throws -> (frame: VerifiedFrame, metadata: JSONValue)? {
        guard let stored = byKey[key], stored.inputs == inputs else { return nil }
        let frame = try InputIntegrityError.checking(stored.shard.path) { try stored.shard.verifiedFrame(at: stored.index) }
        return (frame, stored.metadata)
    }
}

extension StageContext {
    /// The earlier artifact the job names in `reuse`, opened (nil without one). A shard of it that cannot be
    /// opened is an `InputIntegrityError`, as for an input.
    public func earlierRecords() throws -> EarlierRecords? {
        guard let manifest = job.reuse else { return nil }
        let records = try EarlierRecords(try shards(of: manifest))
        log("reuse: \(records.count) records of an earlier run with the same executable and params may be copied")
        return records
    }

    /// Links the earlier artifact's shards as this artifact's when the job's records (`records`, in key order)
    /// are exactly that artifact's, each made from the same own inputs: a rerun that changes no record (a label
    /// fixed in the table) then gets the bytes a copy record by record would write, with every frame checked
    /// as a copy checks it (a mismatch fails the job) but nothing written or hashed again. Reports the reuse
    /// and returns true; false, having done nothing, otherwise and for a slice (its earlier artifact may hold
    /// other slices' records).
    public func linkEarlierShardsIfUnchanged(_ earlier: EarlierRecords?, records: [ReuseCandidate]) throws -> Bool {
        guard let earlier, let manifest = job.reuse, job.slice == nil, !records.isEmpty,
              manifest.records == records.count, earlier.count == records.count,
              earlier.copyable(records) == records.count else { return false }
        try earlier.verifyEveryFrame(threads: threads)
        try linkShards(of: manifest)
        log("every record is an earlier run's with the same inputs: its \(manifest.shards.count) shards are linked")
        reportReuse(reused: records.count, computed: 0)
        return true
    }

    /// Logs how many records were copied and computed, also as the line the scheduler reads.
    public func reportReuse(reused: Int, computed: Int) {
        log(RecordReuse.reportLine(reused: reused, computed: computed))
    }

    /// With `--plan-reuse`, ends the stage with the counts of records it would copy and compute (`runStage`
    /// prints them on stdout and exits 0); otherwise returns and the stage goes on to do the work.
    public func planReuse(reused: Int, computed: Int) throws {
        if planningReuse { throw ReusePlan(reused: reused, computed: computed) }
    }
}

/// How a job planned with `--plan-reuse` would split its records: thrown to end the stage before any work.
struct ReusePlan: Error {
    let reused: Int
    let computed: Int
}
