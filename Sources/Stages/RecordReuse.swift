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
    private let byKey: [String: (record: EarlierRecord, inputs: String)]

    init(_ shards: [(reader: ShardReader, file: ArtifactFile)]) throws {
        var byKey: [String: (record: EarlierRecord, inputs: String)] = [:]
        for (shard, file) in shards {
            let metadata = try InputIntegrityError.checking(shard.path) { try shard.metadata() }
            for (i, m) in metadata.enumerated() {
                guard let inputs = m[RecordReuse.field]?.stringValue else { continue }
                byKey[shard.entries[i].key] = (EarlierRecord(shard: shard, file: file, index: i, metadata: m), inputs)
            }
        }
        self.byKey = byKey
    }

    public var count: Int { byKey.count }

    /// How many of a job's records (key and own-inputs digest; nil: one that cannot be copied) the earlier
    /// artifact has, made from the same own inputs.
    public func copyable(_ records: [ReuseCandidate]) -> Int {
        records.filter { record in record.inputs.map { self.record(key: record.key, inputs: $0) != nil } ?? false }.count
    }

    /// The earlier record `key` when it was made from the same own inputs (`inputs`, a `RecordReuse.digest`),
    /// for the stage's writer (`ShardSequenceWriter.append(earlier:)`), which links its shard or copies it
    /// with its frame checked. Nil when there is no such record. Nothing is read.
    public func record(key: String, inputs: String) -> EarlierRecord? {
        guard let stored = byKey[key], stored.inputs == inputs else { return nil }
        return stored.record
    }
}

extension StageContext {
    /// The earlier artifact the job names in `reuse`, opened (nil without one). A shard of it that cannot be
    /// opened is an `InputIntegrityError`, as for an input.
    public func earlierRecords() throws -> EarlierRecords? {
        guard let manifest = job.reuse else { return nil }
        let records = try EarlierRecords(try manifest.shards.map { (try openShard($0), $0) })
        log("reuse: \(records.count) records of an earlier run with the same executable and params may be copied")
        return records
    }

    /// Lists the writer's shards in the manifest and reports the reuse: records copied or linked, records
    /// computed, and shards linked (unchanged shards of the earlier run) beside those written.
    public func finishWriting(_ writer: ShardSequenceWriter, reused: Int, computed: Int) throws {
        let shards = try writer.finish()
        recordShards(shards)
        if job.reuse != nil {
            log("\(writer.linked) of \(shards.count) shards linked from the earlier run, \(shards.count - writer.linked) written")
        }
        reportReuse(reused: reused, computed: computed)
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
