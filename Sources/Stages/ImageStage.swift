import Foundation
import Imaging
import Shards

/// What an image stage makes of one input record.
public enum ImageStageResult {
    /// A new image, encoded as an `ImagePayload` before writing.
    case image(GrayImage, metadata: JSONValue)
    /// The input payload unchanged (no decode and re-encode), with new metadata.
    case unchanged(metadata: JSONValue)
    /// The record is dropped with this reason.
    case reject(String)
}

extension JSONValue {
    /// This object with `fields` added (replacing fields of the same name); a non-object becomes `fields`.
    public func adding(_ fields: [String: JSONValue]) -> JSONValue {
        .object((objectValue ?? [:]).merging(fields) { _, new in new })
    }
}

/// The loop every image stage runs: decode each input record, `transform` it on `context.threads` workers
/// with memory bounded by a few images, write the results in key order (so shards are byte-identical
/// across runs), record rejects and progress. A thrown error rejects that record only, except an
/// `InputIntegrityError` (a damaged input object), which fails the job. The decoded image is
/// handed over (`consuming`): a stage that changes it in place (`var out = consume image`) writes into the
/// decoded pixels rather than a copy of them. `passThrough` decides from a record's metadata alone: the new
/// metadata of a record that passes unchanged without being decoded (its stored frame is copied), nil to
/// transform it. Each record's metadata gets `RecordReuse.field`, the digest of its input record (key, frame, metadata);
/// when the job names an earlier artifact (`reuse`), a record of it with the same digest is taken as it is
/// stored instead of being computed (its whole shard linked where the writer can, `ShardSequenceWriter`).
/// Returns how many records were written.
public func mapImageRecords(_ context: StageContext, _ refs: [RecordRef],
                            passThrough: @escaping (RecordRef) -> JSONValue? = { _ in nil },
                            transform: @escaping (RecordRef, consuming GrayImage) throws -> ImageStageResult) throws -> Int {
    let earlier = try context.earlierRecords()
    let digests = refs.map { RecordReuse.digest(of: $0) }
    if context.planningReuse {
        let copies = earlier?.copyable(zip(refs, digests).map { ReuseCandidate(key: $0.key, inputs: $1) }) ?? 0
        try context.planReuse(reused: copies, computed: refs.count - copies)
    }
    let writer = context.shardWriter()
    var written = 0, reused = 0
    enum Outcome {
        /// Compressed by the worker: the writer's thread only writes (it had compressed every record itself, so
        /// a stage used 1.6 of 2 cores).
        case write(CompressedRecord, metadata: JSONValue)
        /// The input's own stored frame, already checked against its SHA-256.
        case copy(VerifiedFrame, metadata: JSONValue)
        /// The earlier run's record, made from the same inputs: the writer links or copies it.
        case earlier(EarlierRecord)
        case reject(String)
        case fail(InputIntegrityError)
    }
    try orderedParallelMap(count: refs.count, threads: context.threads, work: { i -> Outcome in
        let ref = refs[i], inputs = digests[i]
        if let record = earlier?.record(key: ref.key, inputs: inputs) { return .earlier(record) }
        do {
            let own: [String: JSONValue] = [RecordReuse.field: .string(inputs)]
            // Passed through unchanged: the input's frame is what compressing its payload again would write.
            func inputFrame() throws -> VerifiedFrame {
                try InputIntegrityError.checking(ref.shard.path) { try ref.shard.verifiedFrame(at: ref.index) }
            }
            if let metadata = passThrough(ref) { return .copy(try inputFrame(), metadata: metadata.adding(own)) }
            let decoded = try ImagePayload(decoding: try ref.payload())
            switch try transform(ref, GrayImage(consume decoded)) {
            case .image(let out, let metadata):
                return .write(try out.payload.compressed(), metadata: metadata.adding(own))
            case .unchanged(let metadata): return .copy(try inputFrame(), metadata: metadata.adding(own))
            case .reject(let reason): return .reject(reason)
            }
        } catch let error as InputIntegrityError {
            return .fail(error)
        } catch {
            return .reject("\(error)")
        }
    }, consume: { i, outcome in
        let ref = refs[i]
        switch outcome {
        case .write(let record, let metadata):
            try writer.append(key: ref.key, metadata: metadata, compressed: record)
            written += 1
        case .copy(let frame, let metadata):
            try writer.append(key: ref.key, metadata: metadata, stored: frame)
            written += 1
        case .earlier(let record):
            try writer.append(earlier: record)
            written += 1
            reused += 1
        case .reject(let reason):
            context.reject(key: ref.key, file: sourceFile(of: ref.metadata), reason: reason)
        case .fail(let error):
            throw error
        }
        context.progress(done: i + 1, total: refs.count)
    })
    try context.finishWriting(writer, reused: reused, computed: refs.count - reused)
    return written
}

/// The source file a record came from, for rejects: decode's `source.path`, or a plain `file` field.
func sourceFile(of metadata: JSONValue) -> String? {
    metadata["source"]?["path"]?.stringValue ?? metadata["file"]?.stringValue
}
