import Foundation
import Neural
import Shards

/// One batch of model inputs and targets.
public struct Batch: @unchecked Sendable {
    // x: (N, H, W, 1)
    public let x: Tensor
    public let targets: BatchTargets
    /// Indices into the loader's images, in sample order.
    public let indices: [Int]
}

/// A per-sample seed that depends only on (seed, epoch, position in the epoch): the same sample gets the
/// same augmentation whatever thread prepares it and whenever.
func sampleSeed(_ seed: Int, _ epoch: Int, _ position: Int) -> UInt64 {
    var z = UInt64(bitPattern: Int64(seed)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(epoch)) &* 0xBF58_476D_1CE4_E5B9
    z ^= UInt64(bitPattern: Int64(position)) &* 0x94D0_49BB_1331_11EB
    z = (z ^ (z >> 31)) &* 0xD6E8_FEB8_6659_FD93
    return z ^ (z >> 32)
}

/// The order of an epoch's samples: a seeded shuffle, or a balanced draw with replacement in which each
/// sample is a cancer with probability `positiveFraction`.
public func epochOrder(labels: [Int], sampler: SamplerKind, positiveFraction: Double, seed: Int, epoch: Int) -> [Int] {
    let rng = Random(seed: sampleSeed(seed, epoch, -1))
    let positives = labels.indices.filter { labels[$0] > 0 }, negatives = labels.indices.filter { labels[$0] == 0 }
    guard sampler == .balanced, !positives.isEmpty, !negatives.isEmpty else {
        var order = Array(labels.indices)
        rng.shuffle(&order)
        return order
    }
    return labels.indices.map { _ in
        rng.uniform() < Float(positiveFraction) ? positives[rng.int(positives.count)] : negatives[rng.int(negatives.count)]
    }
}

/// Turns images into batches on a background thread, a few batches ahead of the training loop, so that
/// the GEMMs do not wait for decoding (the time they do wait is counted in `waitSeconds`).
/// A sample: the record's payload read and checked, resized into the model input, augmented (training).
public final class BatchLoader {
    public let images: [LabeledImage]
    public let layout: ModelLayout
    public let input: ModelInputSize
    let prepare: (ImagePayload, UnsafeMutablePointer<Float>) -> Void
    let augment: ((UnsafeMutablePointer<Float>, Random) -> Void)?
    let seed: Int
    /// Seconds `next()` spent waiting for the loader, and how many batches it waited for.
    public private(set) var waitSeconds = 0.0
    public private(set) var waits = 0

    public init(images: [LabeledImage], layout: ModelLayout, input: ModelInputSize,
                prepare: @escaping (ImagePayload, UnsafeMutablePointer<Float>) -> Void,
                augment: ((UnsafeMutablePointer<Float>, Random) -> Void)?, seed: Int) {
        self.images = images
        self.layout = layout
        self.input = input
        self.prepare = prepare
        self.augment = augment
        self.seed = seed
    }

    /// Builds one batch of the samples `order[range]` of `epoch` (positions in the epoch seed augmentation).
    func batch(_ order: [Int], _ range: Range<Int>, epoch: Int) throws -> Batch {
        let plane = input.height * input.width
        let x = Tensor([range.count, input.height, input.width, 1])
        var targets = BatchTargets(cancer: [], binary: layout.binaryHeads.map { _ in [] }, views: [])
        for (slot, position) in range.enumerated() {
            let image = images[order[position]]
            let payload = try ImagePayload(decoding: image.record.payload())
            let out = x.data + slot * plane
            prepare(payload, out)
            if let augment { augment(out, Random(seed: sampleSeed(seed, epoch, position))) }
            targets.cancer.append(Float(image.cancer ?? 0))
            for (h, head) in layout.binaryHeads.enumerated() {
                targets.binary[h].append(Float(head == .laterality ? (image.laterality == "R" ? 1 : 0) : image.labels[head.rawValue] ?? 0))
            }
            if !layout.views.isEmpty { targets.views.append(layout.views.firstIndex(of: image.view) ?? 0) }
        }
        return Batch(x: x, targets: targets, indices: range.map { order[$0] })
    }

    /// The batches of one epoch in order, prepared `ahead` batches in advance on a background thread.
    public func batches(order: [Int], batchSize: Int, epoch: Int, ahead: Int = 2) -> Prefetch {
        let ranges = stride(from: 0, to: order.count, by: batchSize).map { $0..<min($0 + batchSize, order.count) }
        return Prefetch(count: ranges.count, ahead: ahead, owner: self) { [self] i in try batch(order, ranges[i], epoch: epoch) }
    }

    /// A bounded queue filled by one producer thread; `next()` hands out the batches in order.
    public final class Prefetch {
        private let condition = NSCondition()
        private var ready: [Int: Result<Batch, Error>] = [:]
        private var taken = 0
        private var stopped = false
        private let count: Int
        private unowned let owner: BatchLoader

        init(count: Int, ahead: Int, owner: BatchLoader, make: @escaping (Int) throws -> Batch) {
            self.count = count
            self.owner = owner
            let thread = Thread { [self] in
                for i in 0..<count {
                    condition.lock()
                    while !stopped && i - taken >= ahead { condition.wait() }
                    let stop = stopped
                    condition.unlock()
                    if stop { return }
                    let result = Result { try make(i) }
                    condition.lock()
                    ready[i] = result
                    condition.broadcast()
                    condition.unlock()
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }

        /// The next batch, nil after the last; a record that cannot be read ends the epoch with its error.
        public func next() throws -> Batch? {
            guard taken < count else { return nil }
            condition.lock()
            defer { condition.unlock() }
            if ready[taken] == nil {
                let start = Date()
                while ready[taken] == nil { condition.wait() }
                owner.waitSeconds += Date().timeIntervalSince(start)
                owner.waits += 1
            }
            let result = ready.removeValue(forKey: taken)!
            taken += 1
            condition.broadcast()
            return try result.get()
        }

        /// Stops the producer; call it when leaving an epoch early (an error), or its thread waits forever.
        public func cancel() {
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
