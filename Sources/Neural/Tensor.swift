import Foundation

/// A dense float32 tensor in row-major order. Images are NHWC, so that a 1x1 convolution is a plain GEMM
/// over the (N*H*W, C) matrix and per-channel work runs over contiguous rows.
/// A reference type: layers keep what backward needs without copying, and callers never alias by accident
/// because every operation allocates its result.
public final class Tensor {
    public private(set) var shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    public init(_ shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        data = StoragePool.take(count)
        data.initialize(repeating: 0, count: max(count, 1))
    }

    /// A tensor with uninitialised contents, for results that are fully overwritten.
    init(uninitialized shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        data = StoragePool.take(count)
    }

    public convenience init(_ shape: [Int], values: [Float]) {
        self.init(uninitialized: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { StoragePool.give(data, count) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// The same storage seen with another shape of equal size (flattening (N, 1, 1, C) to (N, C), say).
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
    public func zero() { fill(0) }

    /// Adds `other` elementwise (same element count).
    public func add(_ other: Tensor) {
        precondition(other.count == count, "add: \(other.shape) vs \(shape)")
        parallelRange(count, grain: 1 << 16) { r in for i in r { data[i] += other.data[i] } }
    }
}

/// Recycles tensor storage by exact size. A training step allocates the same activation shapes every
/// step; handing back the previous step's buffers avoids mapping fresh pages (and their page faults, which
/// otherwise cost as much as the arithmetic of small layers). The pool only holds what was once live at the
/// same time, so it never exceeds the peak of a step.
public enum StoragePool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    /// Buffers below this many floats come from malloc directly (its own caches serve them well).
    static let minimumPooled = 1 << 14

    static func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        if n >= minimumPooled {
            lock.lock()
            defer { lock.unlock() }
            if let p = free[n]?.popLast() { return p }
        }
        return .allocate(capacity: n)
    }

    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        let n = max(count, 1)
        guard n >= minimumPooled else { p.deallocate(); return }
        lock.lock()
        free[n, default: []].append(p)
        lock.unlock()
    }

    /// Returns all cached buffers to the system (between training and evaluation of different sizes, say).
    public static func releaseCached() {
        lock.lock()
        defer { lock.unlock() }
        for p in free.values.joined() { p.deallocate() }
        free = [:]
    }
}

/// A learnable tensor with its gradient. Gradients accumulate across backward passes (as in PyTorch)
/// until an optimizer's `zeroGrad`.
public final class Parameter {
    public let value: Tensor
    public let grad: Tensor
    /// Whether decoupled or L2 weight decay applies (off for norms and biases when the builder says so).
    public var decays: Bool

    public init(_ value: Tensor, decays: Bool = true) {
        self.value = value
        grad = Tensor(value.shape)
        self.decays = decays
    }
}

/// NHWC dimensions of an image batch.
struct ImageShape {
    let n, h, w, c: Int
    init(_ t: Tensor) {
        precondition(t.shape.count == 4, "expected an (N, H, W, C) tensor, got \(t.shape)")
        (n, h, w, c) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
    }
    var pixels: Int { n * h * w }
}
