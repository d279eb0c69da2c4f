import Foundation
import Imaging
import Shards

/// What an image stage makes of one input record.
public enum ImageStageResult {
    /// A new image, encoded as an `ImagePayload` before writing.
    case image(GrayImage, metadata: JSONValue)
    /// The input payload unchanged, with new metadata: its stored frame is copied (no re-encode or compression).
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
/// metadata of a record that passes unchanged without being decoded, nil to transform it.
/// Returns how many records were written.
public func mapImageRecords(_ context: StageContext, _ refs: [RecordRef],
                            passThrough: @escaping (RecordRef) -> JSONValue? = { _ in nil },
                            transform: @escaping (RecordRef, consuming GrayImage) throws -> ImageStageResult) throws -> Int {
    let writer = context.shardWriter()
    var written = 0
    enum Outcome {
        case write(payload: [UInt8], metadata: JSONValue, sampleSize: Int)
        /// The input's stored frame, already checked against its SHA-256 by the worker.
        case copy(metadata: JSONValue)
        case reject(String), fail(InputIntegrityError)
    }
    try orderedParallelMap(count: refs.count, threads: context.threads, work: { i -> Outcome in
        let ref = refs[i]
        do {
            if let metadata = passThrough(ref) {
                try InputIntegrityError.checking(ref.shard.path) { try ref.shard.checkFrame(at: ref.index) }
                return .copy(metadata: metadata)
            }
            let payload = try ref.payload()
            let decoded = try ImagePayload(decoding: payload)
            switch try transform(ref, GrayImage(consume decoded)) {
            case .image(let out, let metadata):
                let encoded = out.payload
                return .write(payload: encoded.encode(), metadata: metadata, sampleSize: encoded.bytesPerSample)
            case .unchanged(let metadata): return .copy(metadata: metadata)
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
        case .write(let payload, let metadata, let sampleSize):
            try writer.append(key: ref.key, metadata: metadata, payload: payload, elementSize: sampleSize)
            written += 1
        case .copy(let metadata):
            try writer.appendStored(key: ref.key, metadata: metadata, from: ref.shard, at: ref.index, verify: false)
            written += 1
        case .reject(let reason):
            context.reject(key: ref.key, file: sourceFile(of: ref.metadata), reason: reason)
        case .fail(let error):
            throw error
        }
        context.progress(done: i + 1, total: refs.count)
    })
    context.recordShards(try writer.finish())
    return written
}

/// The source file a record came from, for rejects: decode's `source.path`, or a plain `file` field.
func sourceFile(of metadata: JSONValue) -> String? {
    metadata["source"]?["path"]?.stringValue ?? metadata["file"]?.stringValue
}
