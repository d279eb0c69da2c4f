import Foundation
import Shards

/// A checkpoint that cannot be read back into a model: names the file and the reason.
public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Weights, running statistics and optimizer state as one shard: one record per tensor, key = its path
/// ("param/stages.0.0.conv.weight", "buffer/...", "optim/exp_avg/..."), metadata = shape and dtype,
/// payload = little-endian float32. A record "optim" carries the optimizer's step count.
public enum Checkpoint {
    /// Writes the shard into `directory` (atomically, named by content hash) and returns its info.
    public static func save(model: Layer, optimizer: Optimizer? = nil, to directory: String) throws -> ShardInfo {
        var tensors: [(String, Tensor)] = model.parameters.map { ("param/\($0.0)", $0.1.value) }
            + model.buffers.map { ("buffer/\($0.0)", $0.1) }
        if let optimizer { tensors += optimizer.state.map { ("optim/\($0.0)", $0.1) } }
        var records: [(key: String, metadata: JSONValue, payload: [UInt8])] = tensors.map { key, t in
            (key, .object(["shape": .array(t.shape.map { .int(Int64($0)) }), "dtype": .string("float32")]),
             Array(UnsafeRawBufferPointer(start: t.data, count: t.count * 4)))
        }
        if let optimizer {
            let step = Int64(optimizer.stepCount)
            records.append(("optim", .object(["step": .int(step)]), withUnsafeBytes(of: step.littleEndian) { Array($0) }))
        }
        // Shards want strictly ascending keys.
        records.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        let writer = try ShardWriter(directory: directory)
        // float32 tensors are byte-shuffled by 4 (exponent bytes together), the step count stored as it is.
        for r in records { try writer.append(key: r.key, metadata: r.metadata, payload: r.payload, elementSize: r.key == "optim" ? 1 : 4) }
        return try writer.finish()
    }

    /// Loads weights and buffers (every tensor of the model must be present with its shape) and, if given,
    /// the optimizer state.
    public static func load(from path: String, into model: Layer, optimizer: Optimizer? = nil) throws {
        let reader = try ShardReader(path: path)
        let metadata = try reader.metadata()
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
        }
        for (name, p) in model.parameters { try read("param/\(name)", into: p.value) }
        for (name, b) in model.buffers { try read("buffer/\(name)", into: b) }
        guard let optimizer else { return }
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
    }
}
