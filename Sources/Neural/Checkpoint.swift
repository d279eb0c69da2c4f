import Foundation
import Shards

/// A checkpoint that cannot be read back into a model: names the file and the reason.
public struct CheckpointError: SubjectReasonError {
    public let path: String
    public let reason: String
    public var subject: String { path }
}

/// Weights, running statistics, optimizer state, averaged (EMA) weights and the model's configuration as
/// one shard: one record per tensor, key = its path ("param/stages.0.0.conv.weight", "buffer/...",
/// "optim/exp_avg/...", "ema/..."), metadata = shape and dtype, payload = little-endian float32. A record
/// "optim" carries the optimizer's step count, a record "config" the JSON that rebuilds the model.
public enum Checkpoint {
    /// Which weights `load` puts into the model: the trained ones, or the exponential moving average.
    public enum Weights: Sendable { case trained, averaged }

    /// Writes the shard into `directory` (atomically, named by content hash) and returns its info.
    public static func save(model: Layer, optimizer: Optimizer? = nil, ema: WeightEMA? = nil, config: JSONValue? = nil,
                            to directory: String) throws -> ShardInfo {
        var tensors: [(String, Tensor)] = model.parameters.map { ("param/\($0.0)", $0.1.value) }
            + model.buffers.map { ("buffer/\($0.0)", $0.1) }
        if let optimizer { tensors += optimizer.state.map { ("optim/\($0.0)", $0.1) } }
        if let ema { tensors += ema.averaged.map { ("ema/\($0.0)", $0.1) } }
        var records: [(key: String, metadata: JSONValue, payload: [UInt8])] = tensors.map { key, t in
            (key, .object(["shape": .array(t.shape.map { .int(Int64($0)) }), "dtype": .string("float32")]),
             Array(UnsafeRawBufferPointer(start: t.data, count: t.count * 4)))
        }
        if let optimizer {
            let step = Int64(optimizer.stepCount)
            records.append(("optim", .object(["step": .int(step)]), withUnsafeBytes(of: step.littleEndian) { Array($0) }))
        }
        if let config { records.append(("config", .object([:]), config.canonicalBytes)) }
        // Shards want strictly ascending keys.
        records.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        let writer = try ShardWriter(directory: directory)
        // float32 tensors are byte-shuffled by 4 (exponent bytes together); the step count and config as they are.
        for r in records {
            try writer.append(key: r.key, metadata: r.metadata, payload: r.payload,
                              elementSize: r.key == "optim" || r.key == "config" ? 1 : 4)
        }
        return try writer.finish()
    }

    /// The configuration saved with a checkpoint (nil when it has none).
    public static func config(at path: String) throws -> JSONValue? {
        let reader = try ShardReader(path: path)
        guard let bytes = try reader.payload(forKey: "config") else { return nil }
        do { return try JSONValue.parse(bytes) } catch { throw CheckpointError(path: path, reason: "config: \(error)") }
    }

    /// Loads weights and buffers (every tensor of the model must be present with its shape; `.averaged`
    /// takes them from the EMA records) and, if given, the optimizer state. Every record of the file is
    /// read and checked against its SHA-256, and a record the model does not expect is an error.
    public static func load(from path: String, into model: Layer, optimizer: Optimizer? = nil,
                            weights: Weights = .trained) throws {
        let reader = try ShardReader(path: path)
        let metadata = try reader.metadata()
        var unread = Set(reader.entries.map(\.key))
        /// Reads record `key` into `target`, checking shape and size.
        func read(_ key: String, into target: Tensor) throws {
            guard let i = reader.index(of: key) else { throw CheckpointError(path: path, reason: "missing tensor \(key)") }
            let stored = metadata[i]["shape"]?.arrayValue?.compactMap { $0.intValue } ?? []
            guard stored == target.shape, metadata[i]["dtype"]?.stringValue == "float32" else {
                throw CheckpointError(path: path, reason: "\(key) has shape \(stored), model expects float32 \(target.shape)")
            }
            let bytes = try reader.payload(at: i)
            guard bytes.count == target.count * 4 else { throw CheckpointError(path: path, reason: "\(key): truncated payload") }
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(target.data).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            unread.remove(key)
        }
        let prefix = weights == .averaged ? "ema/" : nil
        for (name, p) in model.parameters { try read("\(prefix ?? "param/")\(name)", into: p.value) }
        for (name, b) in model.buffers { try read("\(prefix ?? "buffer/")\(name)", into: b) }
        if let optimizer {
            guard let i = reader.index(of: "optim"), let step = metadata[i]["step"]?.intValue else {
                throw CheckpointError(path: path, reason: "no optimizer state")
            }
            var state: [String: Tensor] = [:]
            for (j, entry) in reader.entries.enumerated() where entry.key.hasPrefix("optim/") {
                let t = Tensor(metadata[j]["shape"]?.arrayValue?.compactMap { $0.intValue } ?? [])
                try read(entry.key, into: t)
                state[String(entry.key.dropFirst("optim/".count))] = t
            }
            optimizer.restore(step: step, state: state)
            unread.remove("optim")
        }
        // The rest is checked too: a corrupt record anywhere makes the file untrustworthy.
        let known = ["param/", "buffer/", "optim/", "ema/"]
        for key in unread.sorted() {
            guard key == "config" || key == "optim" || known.contains(where: key.hasPrefix) else {
                throw CheckpointError(path: path, reason: "unexpected record \(key)")
            }
            _ = try reader.payload(at: reader.index(of: key)!)
        }
        let expected = Set(model.parameters.map { "param/\($0.0)" } + model.buffers.map { "buffer/\($0.0)" })
        if let stray = unread.first(where: { ($0.hasPrefix("param/") || $0.hasPrefix("buffer/")) && !expected.contains($0) }) {
            throw CheckpointError(path: path, reason: "tensor \(stray) is not part of the model")
        }
    }
}
