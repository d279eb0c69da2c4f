import Imaging
import Neural
import Shards

/// The data path's image -> model-input transform, run for every image every epoch.
///
/// A mammogram of any size (chest wall on the left, as the pectoral stage writes it) is resized with its aspect
/// ratio kept to fit `height` x `width`, placed against the left edge (the chest wall stays at the plane's edge,
/// where the breast starts) and centred vertically, the rest of the plane zero (black), and divided by the
/// image's largest possible sample, 2^bits - 1, so values lie in 0...1. Augmentations work on that 0...1 plane
/// (their constant border 0 is the black background, brightness is relative to 1); `normalize` then maps it
/// to (x - mean) / std for the model.
///
/// Shrinking averages the covered area, as OpenCV's INTER_AREA (right for any reduction, 4000 rows to 512
/// included); enlarging is bilinear, as INTER_LINEAR. See `ResamplingTaps`.
public struct ModelInput: Sendable, Equatable {
    /// The model's input plane, `height` x `width` floats row-major.
    public let height: Int
    public let width: Int
    /// Normalisation of the 0...1 plane: (x - mean) / std.
    public let mean: Float
    public let std: Float

    public struct InvalidParameters: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { "model input: \(reason)" }
    }

    public init(height: Int, width: Int, mean: Float, std: Float) throws {
        guard height > 0, width > 0 else {
            throw InvalidParameters(reason: "size must be positive, found \(height)x\(width) (height x width)")
        }
        guard mean.isFinite, std.isFinite, std > 0 else {
            throw InvalidParameters(reason: "mean must be finite and std positive, found mean \(mean), std \(std)")
        }
        self.height = height
        self.width = width
        self.mean = mean
        self.std = std
    }

    /// Floats in one plane.
    public var count: Int { height * width }

    /// Where an `imageWidth` x `imageHeight` image lands on the plane: scaled to fit with its aspect ratio,
    /// at x = 0, centred vertically (an odd spare row goes below).
    public func placement(imageWidth: Int, imageHeight: Int) -> PixelRect {
        let fitted = Resample.fittedSize(width: imageWidth, height: imageHeight, maxWidth: width, maxHeight: height)
        return PixelRect(x: 0, y: (height - fitted.height) / 2, width: fitted.width, height: fitted.height)
    }

    /// Writes `image` resized and placed (see `placement`) into `plane` (`count` floats), values in 0...1,
    /// every sample outside the placement 0.
    public func write(_ image: GrayImage, into plane: UnsafeMutablePointer<Float>) {
        image.pixels.withUnsafeBufferPointer { write($0, width: image.width, height: image.height, bits: image.bits, into: plane) }
    }

    /// Writes a shard's image payload as `write(_: GrayImage, into:)` does, without making a `GrayImage`.
    public func write(_ payload: ImagePayload, into plane: UnsafeMutablePointer<Float>) {
        payload.samples.withUnsafeBufferPointer { write($0, width: payload.width, height: payload.height, bits: payload.bits, into: plane) }
    }

    /// Maps the 0...1 plane (`count` floats) in place to (x - mean) / std.
    public func normalize(_ plane: UnsafeMutablePointer<Float>) {
        let scale = 1 / std, shift = -mean / std
        for i in 0..<count { plane[i] = plane[i] * scale + shift }
    }

    /// A sample's steps in the order they must run, shaped as `BatchLoader`'s `prepare` and `augment`:
    /// write the 0...1 plane, augment it, normalise. Without an augmentation (nil or `.none`: held-out and
    /// prediction batches) `prepare` also normalises and `augment` is nil. `augment` draws from the sample's
    /// own generator and brings its own scratch buffers, so it may run on any number of threads.
    public func loaderSteps(augmentation: AugmentationConfig?)
        -> (prepare: @Sendable (ImagePayload, UnsafeMutablePointer<Float>) -> Void, augment: (@Sendable (UnsafeMutablePointer<Float>, Random) -> Void)?) {
        guard let augmentation, augmentation != .none else {
            return ({ payload, plane in
                write(payload, into: plane)
                normalize(plane)
            }, nil)
        }
        return ({ payload, plane in write(payload, into: plane) }, { plane, random in
            var scratch = AugmentationScratch()
            augmentation.sample(height: height, width: width, using: random).apply(to: plane, scratch: &scratch)
            normalize(plane)
        })
    }

    private func write(_ samples: UnsafeBufferPointer<UInt16>, width imageWidth: Int, height imageHeight: Int, bits: Int,
                       into plane: UnsafeMutablePointer<Float>) {
        precondition(imageWidth > 0 && imageHeight > 0 && samples.count == imageWidth * imageHeight, "empty or short image")
        let place = placement(imageWidth: imageWidth, imageHeight: imageHeight)
        // The 1 / (2^bits - 1) scaling rides on the vertical weights, so it costs nothing per sample.
        let rows = ResamplingTaps(from: imageHeight, to: place.height, gain: 1 / Float((1 << bits) - 1))
        let columns = ResamplingTaps(from: imageWidth, to: place.width, gain: 1)
        plane.update(repeating: 0, count: place.y * width)
        let below = place.maxY * width
        (plane + below).update(repeating: 0, count: count - below)
        // One float row of the input, weighted sum of the input rows that make one output row.
        let accumulated = UnsafeMutablePointer<Float>.allocate(capacity: imageWidth)
        defer { accumulated.deallocate() }
        let source = samples.baseAddress!
        rows.weights.withUnsafeBufferPointer { rowWeights in
            columns.weights.withUnsafeBufferPointer { columnWeights in
                for oy in 0..<place.height {
                    let first = source + rows.starts[oy] * imageWidth
                    let w0 = rowWeights[oy * rows.taps]
                    for x in 0..<imageWidth { accumulated[x] = w0 * Float(first[x]) }
                    for k in 1..<rows.taps {
                        let w = rowWeights[oy * rows.taps + k]
                        if w == 0 { continue }
                        let row = first + k * imageWidth
                        for x in 0..<imageWidth { accumulated[x] += w * Float(row[x]) }
                    }
                    let out = plane + (place.y + oy) * width
                    for ox in 0..<place.width {
                        let taps = accumulated + columns.starts[ox]
                        let weights = columnWeights.baseAddress! + ox * columns.taps
                        var v: Float = 0
                        for k in 0..<columns.taps { v += weights[k] * taps[k] }
                        out[ox] = v
                    }
                    (out + place.width).update(repeating: 0, count: width - place.width)
                }
            }
        }
    }
}

/// One axis of a separable resize from `n` to `m` samples, as OpenCV's cv2.resize computes it:
/// output i = sum over k < taps of weights[i * taps + k] * input[starts[i] + k] (a fixed tap count, unused taps
/// weigh 0, so the inner loops have no branches).
/// Shrinking (m < n) takes INTER_AREA's weights (computeResizeAreaTab in imgproc/src/resize.cpp): output i
/// averages the input interval [i s, (i + 1) s), s = n / m, partial pixels by their overlap, slivers under 1e-3
/// dropped. Growing takes INTER_LINEAR's: between the two input centres around (i + 0.5) s - 0.5, clamped at
/// the edges.
struct ResamplingTaps {
    let taps: Int
    let starts: [Int]
    let weights: [Float]

    init(from n: Int, to m: Int, gain: Float) {
        precondition(n > 0 && m > 0, "resampling needs samples on both sides")
        let scale = 1 / (Double(m) / Double(n))
        let taps = m < n ? min(n, Int(scale.rounded(.up)) + 1) : min(n, 2)
        var starts = [Int](repeating: 0, count: m)
        var weights = [Float](repeating: 0, count: m * taps)
        for i in 0..<m {
            if m < n {
                let lo = Double(i) * scale, hi = lo + scale
                let cell = min(scale, Double(n) - lo)
                let last = min(Int(hi.rounded(.down)), n - 1)
                let first = min(Int(lo.rounded(.up)), last)
                let leading = Double(first) - lo > 1e-3
                let start = min(leading ? first - 1 : first, n - taps)
                starts[i] = start
                let row = i * taps - start
                if leading { weights[row + first - 1] = Float((Double(first) - lo) / cell) * gain }
                for j in first..<last { weights[row + j] = Float(1 / cell) * gain }
                if hi - Double(last) > 1e-3 { weights[row + last] += Float(min(hi - Double(last), 1, cell) / cell) * gain }
            } else {
                var position = Float((Double(i) + 0.5) * scale - 0.5)
                var index = Int(position.rounded(.down))
                position -= Float(index)
                if index < 0 { index = 0; position = 0 }
                if index >= n - 1 { index = n - 1; position = 0 }
                let start = min(index, n - taps)
                starts[i] = start
                weights[i * taps + index - start] += (1 - position) * gain
                if position > 0 { weights[i * taps + index + 1 - start] += position * gain }
            }
        }
        self.taps = taps
        self.starts = starts
        self.weights = weights
    }
}

/// The model's input size, rows x columns.
public struct ModelInputSize: Codable, Equatable, Sendable {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
}
