import Foundation

/// Grow-only memory for plain values (Float, UInt8, Int32, pointers), kept across calls so that
/// per-image scratch planes are allocated and faulted in once per worker rather than once per image.
final class ScratchBuffer<Element> {
    private var base: UnsafeMutablePointer<Element>?
    private var capacity = 0

    /// Room for at least `count` elements; the contents are whatever the previous user left there.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if base == nil || count > capacity {
            base?.deallocate()
            capacity = max(count, 1)
            base = .allocate(capacity: capacity)
        }
        return base!
    }

    deinit { base?.deallocate() }
}

/// The rows one band of Canny streams through: the last 2r+2 horizontally smoothed source rows, the
/// last 5 smoothed rows and the last 3 rows of gradient magnitude, so intermediate planes stay
/// in cache instead of being whole images.
final class CannyBandScratch {
    /// (2r+2, width): source rows smoothed along x, row y in slot y % (2r+2).
    let horizontal = ScratchBuffer<Float>()
    /// width + 2r: one source row as floats with r zeros on each side.
    let padded = ScratchBuffer<Float>()
    /// 2r+2 pointers to the horizontally smoothed rows a pair of output rows reads.
    let window = ScratchBuffer<UnsafePointer<Float>>()
    /// (5, width): smoothed rows, row y in slot y % 5.
    let smoothed = ScratchBuffer<Float>()
    /// (3, width): Sobel magnitudes, row y in slot y % 3.
    let magnitude = ScratchBuffer<Float>()
    /// (2, width): the Sobel's vertical passes of one row.
    let columns = ScratchBuffer<Float>()
    /// Indices of the band's strong pixels, in row order.
    var strong: [Int] = []
}

/// Scratch memory for Canny and the pectoral Hough transform. One workspace serves one call at a time;
/// `borrow` hands each concurrent caller (a stage's worker thread) its own and keeps it for the next call.
final class EdgeWorkspace: @unchecked Sendable {
    /// (height, width) per pixel: bits 0-1 the non-maximum suppression class (0 none, 1 weak, 2 strong),
    /// bit 2 set on edges (after hysteresis), bit 3 set once a pixel was visited for the Sobel support.
    let marks = ScratchBuffer<UInt8>()
    var bands: [CannyBandScratch] = []
    /// Hysteresis' pixels to visit, and the edge pixels it found (indices).
    var stack: [Int] = []
    var edges: [Int] = []
    /// Pixels that vote in the Hough transform.
    var voters: [(x: Int32, y: Int32)] = []
    /// (angles, distances) Hough accumulator and its peak suppression flags.
    let votes = ScratchBuffer<Int32>()
    let suppressed = ScratchBuffer<Bool>()

    /// The last Gaussian plan: images of one size (a stage's whole input, mostly) share it.
    private var plan: GaussianPlan?

    func gaussianPlan(sigma: Double, width: Int, height: Int, maxValue: UInt16) -> GaussianPlan {
        if let plan, plan.sigma == sigma, plan.width == width, plan.height == height, plan.maxValue == maxValue { return plan }
        let made = GaussianPlan(sigma: sigma, width: width, height: height, maxValue: maxValue)
        plan = made
        return made
    }

    /// Scratch for `count` bands.
    func bandScratch(_ count: Int) -> [CannyBandScratch] {
        while bands.count < count { bands.append(CannyBandScratch()) }
        return Array(bands.prefix(count))
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var idle: [EdgeWorkspace] = []

    /// Runs `body` with a workspace no other caller is using: an idle one from an earlier call if there is
    /// one (at most one per thread that ever ran concurrently stays alive), else a new one.
    static func borrow<Result>(_ body: (EdgeWorkspace) throws -> Result) rethrows -> Result {
        let workspace = lock.withLock { idle.popLast() } ?? EdgeWorkspace()
        defer { lock.withLock { idle.append(workspace) } }
        return try body(workspace)
    }
}
