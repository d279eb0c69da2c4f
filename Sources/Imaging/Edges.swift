import Foundation

/// Canny edge detection as scikit-image does it (the study's pectoral step): Gaussian smoothing with
/// renormalised weights at the borders, Sobel gradients, bilinear non-maximum suppression, hysteresis on
/// 8-connected regions; thresholds are in units of the image's full scale (1.0 = 2^bits - 1).
///
/// The image is streamed row by row (Gaussian along x, then along y, then Sobel, then suppression), so
/// only a few rows of each intermediate plane exist at once and stay in cache; the one full-size plane
/// is a byte per pixel of edge classes, reused across calls through an `EdgeWorkspace`.
public enum Edges {
    /// A 1-D Gaussian of `sigma`, truncated at 4 sigma (radius `Int(4 sigma + 0.5)`), summing to 1.
    static func gaussianKernel(sigma: Double) -> [Float] {
        let radius = max(1, Int(4 * sigma + 0.5))
        let raw = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let sum = raw.reduce(0, +)
        return raw.map { Float($0 / sum) }
    }

    /// The image scaled to 0...1 and smoothed with a separable Gaussian. At the borders the weights that
    /// fall outside are dropped and the rest renormalised (scikit-image's mask compensation).
    /// out: (height, width) row-major
    public static func gaussianSmooth(_ image: GrayImage, sigma: Double) -> [Float] {
        let w = image.width, h = image.height
        guard w > 0, h > 0 else { return [] }
        let plan = GaussianPlan(sigma: sigma, width: w, height: h, maxValue: image.maxValue)
        let scratch = CannyBandScratch()
        var out = [Float](repeating: 0, count: w * h)
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                var rows = SmoothedRows(plan: plan, source: source.baseAddress!, scratch: scratch, firstRow: 0)
                for y in 0..<h {
                    rows.advance(through: y)
                    (target.baseAddress! + y * w).update(from: rows.row(y), count: w)
                }
            }
        }
        return out
    }

    /// Canny edges of `image`: 1 where an edge is, else 0; the outermost pixel ring is never an edge.
    /// out: (height, width) row-major
    public static func canny(_ image: GrayImage, sigma: Double, low: Float = 0.1, high: Float = 0.2, threads: Int = 1) -> [UInt8] {
        EdgeWorkspace.borrow { workspace in
            detect(image, sigma: sigma, low: low, high: high, threads: threads, workspace: workspace)
            let marks = workspace.marks.reserve(image.width * image.height)
            return (0..<image.width * image.height).map { (marks[$0] >> 2) & 1 }
        }
    }

    /// Canny into `workspace`: `marks` (bit 2 = edge) for every pixel and `edges`, the edge pixels' indices.
    static func detect(_ image: GrayImage, sigma: Double, low: Float, high: Float, threads: Int, workspace: EdgeWorkspace) {
        let w = image.width, h = image.height
        nonisolated(unsafe) let marks = workspace.marks.reserve(w * h)
        workspace.edges.removeAll(keepingCapacity: true)
        guard w >= 3, h >= 3 else {
            marks.initialize(repeating: 0, count: w * h)
            return
        }
        // The bands clear the rows they suppress; the first and last rows hold no candidates.
        marks.initialize(repeating: 0, count: w)
        (marks + (h - 1) * w).initialize(repeating: 0, count: w)
        let plan = workspace.gaussianPlan(sigma: sigma, width: w, height: h, maxValue: image.maxValue)
        // Suppression rows 1..<h-1 in bands, one per worker; each band keeps its own rings of rows.
        let bandCount = max(1, min(threads, (h - 2) / 32, ProcessInfo.processInfo.activeProcessorCount))
        let bands = workspace.bandScratch(bandCount)
        let thresholds = Thresholds(low: low, high: high)
        image.pixels.withUnsafeBufferPointer { source in
            nonisolated(unsafe) let src = source.baseAddress!
            let work: (Int) -> Void = { band in
                let first = 1 + (h - 2) * band / bandCount, end = 1 + (h - 2) * (band + 1) / bandCount
                suppressBand(rows: first..<end, plan: plan, source: src, thresholds: thresholds, scratch: bands[band], marks: marks)
            }
            if bandCount == 1 {
                work(0)
            } else {
                nonisolated(unsafe) let work = work
                DispatchQueue.concurrentPerform(iterations: bandCount) { work($0) }
            }
        }
        // Hysteresis: weak pixels 8-connected to a strong one become edges. The border ring holds no
        // candidates, so every neighbour of a candidate lies inside the image.
        var stack = workspace.stack, edges = workspace.edges
        stack.removeAll(keepingCapacity: true)
        for band in bands {
            for i in band.strong { marks[i] |= 4 }
            stack.append(contentsOf: band.strong)
            edges.append(contentsOf: band.strong)
        }
        let neighbours = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1]
        while let i = stack.popLast() {
            for d in neighbours {
                let j = i + d
                if marks[j] == 1 {
                    marks[j] = 5
                    stack.append(j)
                    edges.append(j)
                }
            }
        }
        workspace.stack = stack
        workspace.edges = edges
    }

    /// Hysteresis thresholds on the gradient magnitude.
    struct Thresholds {
        var low: Float, high: Float
    }

    /// Sobel derivatives at column x of the middle row, kernel [1 2 1] x [-1 0 1], columns clamped at
    /// the borders: gx along rows (x), gy down columns (y). Per column, s = above + below + 2 row and
    /// d = below - above; gx = s[x+1] - s[x-1], gy = d[x-1] + d[x+1] + 2 d[x] (as `magnitudeRow` does).
    @inline(__always)
    static func gradient(_ above: UnsafePointer<Float>, _ row: UnsafePointer<Float>, _ below: UnsafePointer<Float>, _ x: Int, width w: Int) -> (gx: Float, gy: Float) {
        let l = max(x - 1, 0), r = min(x + 1, w - 1)
        let gx = ((above[r] + below[r]) + 2 * row[r]) - ((above[l] + below[l]) + 2 * row[l])
        let gy = ((below[l] - above[l]) + (below[r] - above[r])) + 2 * (below[x] - above[x])
        return (gx, gy)
    }

    /// Sobel magnitude of one smoothed row (rows above and below clamped by the caller): the vertical
    /// passes s and d of `gradient` once per column into `columns`, then the horizontal ones, so each
    /// column's sums serve its three neighbours. out: (width)
    static func magnitudeRow(_ above: UnsafePointer<Float>, _ row: UnsafePointer<Float>, _ below: UnsafePointer<Float>, width w: Int,
                             columns: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let s = columns, d = columns + w  // (2, width)
        var x = 0
        while x + 16 <= w {
            let a = load16(above + x), c = load16(row + x), b = load16(below + x)
            store16((a + b) + 2 * c, s + x)
            store16(b - a, d + x)
            x += 16
        }
        while x < w {
            s[x] = (above[x] + below[x]) + 2 * row[x]
            d[x] = below[x] - above[x]
            x += 1
        }
        x = 1
        while x + 17 <= w {
            let gx = load16(s + x + 1) - load16(s + x - 1)
            let gy = (load16(d + x - 1) + load16(d + x + 1)) + 2 * load16(d + x)
            store16(multiplyAdd(gy * gy, gx, gx).squareRoot(), out + x)
            x += 16
        }
        func scalar(_ x: Int) {
            let l = max(x - 1, 0), r = min(x + 1, w - 1)
            let gx = s[r] - s[l], gy = (d[l] + d[r]) + 2 * d[x]
            out[x] = multiplyAdd(gy * gy, gx, gx).squareRoot()
        }
        while x < w - 1 {
            scalar(x)
            x += 1
        }
        scalar(0)
        scalar(w - 1)
    }

    /// Non-maximum suppression of rows `rows` (inside 1..<height-1) into `marks`: smoothing, gradients and
    /// suppression streamed row by row. A pixel is kept when its magnitude reaches `low` and at least that
    /// of both neighbours along the gradient, each interpolated between the axis neighbour and the diagonal
    /// one; it is marked 2 (strong) at `high` or more, else 1 (weak). Strong pixels go to `scratch.strong`.
    static func suppressBand(rows: Range<Int>, plan: GaussianPlan, source: UnsafePointer<UInt16>, thresholds: Thresholds,
                             scratch: CannyBandScratch, marks: UnsafeMutablePointer<UInt8>) {
        let w = plan.width
        scratch.strong.removeAll(keepingCapacity: true)
        guard !rows.isEmpty else { return }
        let magnitude = scratch.magnitude.reserve(3 * w), columns = scratch.columns.reserve(2 * w)
        func magnitudeRows(_ y: Int) -> UnsafeMutablePointer<Float> { magnitude + (y % 3) * w }
        var smoothed = SmoothedRows(plan: plan, source: source, scratch: scratch, firstRow: max(rows.lowerBound - 2, 0))
        let low = thresholds.low, high = thresholds.high
        var strong = scratch.strong
        // Magnitude row m is computed from smoothed rows m-1...m+1; then suppression of row m-1 has all it needs.
        for m in rows.lowerBound - 1...rows.upperBound {
            smoothed.advance(through: m + 1)
            magnitudeRow(smoothed.row(m - 1), smoothed.row(m), smoothed.row(m + 1), width: w, columns: columns, into: magnitudeRows(m))
            let y = m - 1
            guard y >= rows.lowerBound else { continue }
            let up = magnitudeRows(y - 1), mid = magnitudeRows(y), down = magnitudeRows(y + 1)
            let above = smoothed.row(y - 1), row = smoothed.row(y), below = smoothed.row(y + 1)
            let neighbours = SuppressionRows(above: above, row: row, below: below, up: up, mid: mid, down: down, width: w)
            let out = marks + y * w
            out.initialize(repeating: 0, count: w)
            var start = 1
            while start < w - 1 {
                let count = min(16, w - 1 - start)
                defer { start += count }
                // The block's local maxima as a bit mask. Most of an image is flat: most blocks have no
                // candidate (magnitude reaching `low`) and are skipped at once. Full blocks are suppressed
                // eight lanes at a time, the last one of a row pixel by pixel; both round alike.
                var kept: UInt32 = 0
                if count == 16, low > 0 {
                    let candidates = reachingLanes(mid + start, low)
                    guard candidates != 0 else { continue }
                    if candidates & 0xff != 0 { kept = neighbours.localMaxima(lanesFrom: start, reaching: low) }
                    if candidates >> 8 != 0 { kept |= neighbours.localMaxima(lanesFrom: start + 8, reaching: low) << 8 }
                } else {
                    for x in start..<start + count where mid[x] >= low && neighbours.isLocalMaximum(x) { kept |= 1 << UInt32(x - start) }
                }
                while kept != 0 {
                    let x = start + kept.trailingZeroBitCount
                    kept &= kept - 1
                    if mid[x] >= high {
                        out[x] = 2
                        strong.append(y * w + x)
                    } else {
                        out[x] = 1
                    }
                }
            }
        }
        scratch.strong = strong
    }

    /// The pixels where the Sobel gradient of a binary edge map is non-zero (borders mirrored): a band
    /// hugging each edge on both sides. The study ran `sobel` on Canny's output before the Hough transform;
    /// these are the pixels that vote. out: (x, y) pairs
    public static func sobelSupport(ofEdges edges: [UInt8], width w: Int, height h: Int) -> [(x: Int32, y: Int32)] {
        EdgeWorkspace.borrow { workspace in
            let marks = workspace.marks.reserve(w * h)
            workspace.edges.removeAll(keepingCapacity: true)
            for i in 0..<w * h {
                marks[i] = edges[i] != 0 ? 4 : 0
                if edges[i] != 0 { workspace.edges.append(i) }
            }
            collectSupport(width: w, height: h, workspace: workspace)
            return workspace.voters
        }
    }

    /// Fills `workspace.voters` with the Sobel support of the edges in `workspace.marks` (bit 2), visiting
    /// only the neighbourhoods of `workspace.edges`; marks bit 3 records the pixels already visited.
    static func collectSupport(width w: Int, height h: Int, workspace: EdgeWorkspace) {
        let e = workspace.marks.reserve(w * h)
        var points = workspace.voters
        points.removeAll(keepingCapacity: true)
        @inline(__always) func edge(_ i: Int) -> Int { Int((e[i] >> 2) & 1) }
        func at(_ x: Int, _ y: Int) -> Int { edge(min(max(y, 0), h - 1) * w + min(max(x, 0), w - 1)) }
        for i in workspace.edges {
            let x = i % w, y = i / w
            for ny in max(y - 1, 0)...min(y + 1, h - 1) {
                for nx in max(x - 1, 0)...min(x + 1, w - 1) where e[ny * w + nx] & 8 == 0 {
                    e[ny * w + nx] |= 8
                    let gx: Int, gy: Int
                    if nx > 0 && ny > 0 && nx < w - 1 && ny < h - 1 {
                        let c = ny * w + nx
                        let a = edge(c - w - 1), b = edge(c - w), d = edge(c - w + 1)
                        let l = edge(c - 1), r = edge(c + 1)
                        let f = edge(c + w - 1), g = edge(c + w), k = edge(c + w + 1)
                        gx = (d - a) + 2 * (r - l) + (k - f)
                        gy = (f - a) + 2 * (g - b) + (k - d)
                    } else {
                        gx = (at(nx + 1, ny - 1) - at(nx - 1, ny - 1)) + 2 * (at(nx + 1, ny) - at(nx - 1, ny))
                            + (at(nx + 1, ny + 1) - at(nx - 1, ny + 1))
                        gy = (at(nx - 1, ny + 1) - at(nx - 1, ny - 1)) + 2 * (at(nx, ny + 1) - at(nx, ny - 1))
                            + (at(nx + 1, ny + 1) - at(nx + 1, ny - 1))
                    }
                    if gx != 0 || gy != 0 { points.append((Int32(nx), Int32(ny))) }
                }
            }
        }
        workspace.voters = points
    }
}

/// Which of the 16 non-negative floats at `p` reach `bound` (> 0): bit k set when p[k] >= bound. Their bit
/// patterns order like the values, so this is integer arithmetic in two registers (value >= bound exactly when
/// bound - 1 - value borrows, setting the sign bit), each lane's bit then weighed by its place and summed.
@inline(__always) func reachingLanes(_ p: UnsafePointer<Float>, _ bound: Float) -> UInt32 {
    let places = SIMD16<UInt32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
    let bits = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt32>.self)
    let borrows = (SIMD16(repeating: bound.bitPattern &- 1) &- bits) &>> 31
    return (borrows &* places).wrappedSum()
}

/// Whether `multiplyAdd` fuses: only where the build targets hardware FMA (MAMMOFLOW_FMA, see Package.swift),
/// since a fused multiply-add without the instruction is a slow library call.
#if MAMMOFLOW_FMA
let fusesMultiplyAdd = true
#else
let fusesMultiplyAdd = false
#endif

/// acc + a * b, with one rounding where `fusesMultiplyAdd`, else a multiply then an add. Paths that must agree
/// (a vector body and its scalar tail, paired and single smoothed rows) all go through these, so a pixel's
/// value does not depend on which path computed it.
@inline(__always) func multiplyAdd(_ acc: Float, _ a: Float, _ b: Float) -> Float {
    fusesMultiplyAdd ? acc.addingProduct(a, b) : acc + a * b
}

@inline(__always) func multiplyAdd<Lanes: SIMD>(_ acc: Lanes, _ a: Float, _ b: Lanes) -> Lanes where Lanes.Scalar == Float {
    fusesMultiplyAdd ? acc.addingProduct(a, b) : acc + a * b
}

@inline(__always) func multiplyAdd<Lanes: SIMD>(_ acc: Lanes, _ a: Lanes, _ b: Lanes) -> Lanes where Lanes.Scalar == Float {
    fusesMultiplyAdd ? acc.addingProduct(a, b) : acc + a * b
}

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// A separable Gaussian with scikit-image's border renormalisation for one image size: the weights of
/// taps that fall outside are dropped and the rest rescaled, per column and per row (the 2-D weight
/// sum is their product). Rows are also scaled by 1 / maxValue, so the output lies in 0...1.
struct GaussianPlan: @unchecked Sendable {
    let sigma: Double, maxValue: UInt16
    let width: Int, height: Int, radius: Int
    /// kernel[r + k] for k = 0...r (the kernel is symmetric).
    let taps: [Float]
    let columnNorm: [Float], rowNorm: [Float]

    init(sigma: Double, width: Int, height: Int, maxValue: UInt16) {
        let kernel = Edges.gaussianKernel(sigma: sigma)
        let r = kernel.count / 2
        func norms(_ n: Int) -> [Float] {
            (0..<n).map { i in
                var s: Float = 0
                for k in -r...r where i + k >= 0 && i + k < n { s += kernel[k + r] }
                return 1 / s
            }
        }
        self.sigma = sigma
        self.maxValue = maxValue
        self.width = width
        self.height = height
        radius = r
        taps = Array(kernel[r...])
        columnNorm = norms(width)
        rowNorm = norms(height).map { $0 / Float(maxValue) }
    }
}

/// The rows non-maximum suppression of one row reads: smoothed rows above, at and below it (for the
/// gradient's direction) and the Sobel magnitudes of the same three rows.
struct SuppressionRows {
    let above: UnsafePointer<Float>, row: UnsafePointer<Float>, below: UnsafePointer<Float>
    let up: UnsafePointer<Float>, mid: UnsafePointer<Float>, down: UnsafePointer<Float>
    let width: Int

    /// Whether pixel x's magnitude reaches both neighbours along its gradient, each interpolated between
    /// the axis neighbour and the diagonal one (columns clamped at the borders).
    func isLocalMaximum(_ x: Int) -> Bool {
        let m = mid[x]
        let (ix, iy) = Edges.gradient(above, row, below, x, width: width)
        let ax = abs(ix), ay = abs(iy)
        // Along the gradient: one row ahead (behind), and the column step sx. The diagonal neighbour
        // weighs t = the smaller over the larger component; the other weight goes to the axis
        // neighbour, in the next row when the gradient is steep, else in this row.
        let sx = ix >= 0 ? 1 : -1
        let ahead = iy >= 0 ? down : up, behind = iy >= 0 ? up : down
        let steep = ay >= ax
        let larger = max(ax, ay)
        let t = larger == 0 ? 0 : min(ax, ay) / larger
        let axisAhead = steep ? ahead[x] : mid[x + sx], axisBehind = steep ? behind[x] : mid[x - sx]
        let forward = t * ahead[x + sx] + (1 - t) * axisAhead
        let backward = t * behind[x - sx] + (1 - t) * axisBehind
        return m >= forward && m >= backward
    }

    /// `isLocalMaximum` and a magnitude reaching `low` for the eight pixels from x (1 <= x, x + 8 < width, so
    /// no column is clamped) as a bit mask: the same operations in the same order on every lane, each
    /// choice (row ahead, column step, steep or not) a select instead of a branch.
    func localMaxima(lanesFrom x: Int, reaching low: Float) -> UInt32 {
        typealias Lanes = SIMD8<Float>
        @inline(__always) func at(_ p: UnsafePointer<Float>, _ dx: Int) -> Lanes { UnsafeRawPointer(p + x + dx).loadUnaligned(as: Lanes.self) }
        @inline(__always) func pick(_ choice: SIMDMask<SIMD8<Int32>>, _ yes: Lanes, _ no: Lanes) -> Lanes { no.replacing(with: yes, where: choice) }
        // Sobel as `Edges.gradient`: s = (above + below) + 2 row, d = below - above, per column.
        @inline(__always) func s(_ dx: Int) -> Lanes { (at(above, dx) + at(below, dx)) + 2 * at(row, dx) }
        @inline(__always) func d(_ dx: Int) -> Lanes { at(below, dx) - at(above, dx) }
        let ix = s(1) - s(-1), iy = (d(-1) + d(1)) + 2 * d(0)
        let ax = pick(ix .< 0, -ix, ix), ay = pick(iy .< 0, -iy, iy)
        let right = ix .>= 0, downward = iy .>= 0, steep = ay .>= ax
        let larger = pointwiseMax(ax, ay)
        let t = pick(larger .== 0, Lanes(repeating: 0), pointwiseMin(ax, ay) / larger)
        let upL = at(up, -1), upC = at(up, 0), upR = at(up, 1)
        let downL = at(down, -1), downC = at(down, 0), downR = at(down, 1)
        let midL = at(mid, -1), m = at(mid, 0), midR = at(mid, 1)
        // ahead[x + sx], behind[x - sx], and the axis neighbours ahead and behind.
        let aheadDiagonal = pick(downward, pick(right, downR, downL), pick(right, upR, upL))
        let behindDiagonal = pick(downward, pick(right, upL, upR), pick(right, downL, downR))
        let axisAhead = pick(steep, pick(downward, downC, upC), pick(right, midR, midL))
        let axisBehind = pick(steep, pick(downward, upC, downC), pick(right, midL, midR))
        let forward = t * aheadDiagonal + (1 - t) * axisAhead
        let backward = t * behindDiagonal + (1 - t) * axisBehind
        let kept = (m .>= low) .& (m .>= forward) .& (m .>= backward)
        let places = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)
        return SIMD8<UInt32>(repeating: 0).replacing(with: places, where: kept).wrappedSum()
    }
}

/// The smoothed image's rows, produced in increasing order. Each source row is converted to float and
/// smoothed along x once, into a ring of the last 2r+2 such rows; output rows are passes down that ring,
/// two at a time where both are interior (each loaded row then serves both). The last `keep` output rows
/// stay readable.
struct SmoothedRows {
    /// Output rows kept readable: the consumer reads up to 3 rows back from the newest it asked for, and
    /// one more may have been made with it as a pair.
    static let keep = 5
    let plan: GaussianPlan
    let source: UnsafePointer<UInt16>
    let ring: UnsafeMutablePointer<Float>, padded: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    let window: UnsafeMutablePointer<UnsafePointer<Float>>
    /// The next source row to smooth along x, and the next output row to produce.
    var nextSource: Int, nextOutput: Int

    /// Ready to produce rows from `firstRow` on.
    init(plan: GaussianPlan, source: UnsafePointer<UInt16>, scratch: CannyBandScratch, firstRow: Int) {
        let w = plan.width, r = plan.radius
        self.plan = plan
        self.source = source
        ring = scratch.horizontal.reserve((2 * r + 2) * w)
        padded = scratch.padded.reserve(w + 2 * r)
        padded.initialize(repeating: 0, count: r)
        (padded + r + w).initialize(repeating: 0, count: r)
        output = scratch.smoothed.reserve(Self.keep * w)
        window = scratch.window.reserve(2 * r + 2)
        nextSource = max(firstRow - r, 0)
        nextOutput = firstRow
    }

    /// Smoothed row `y` clamped to the image (it must be one of the last `keep` rows produced). out: (width)
    func row(_ y: Int) -> UnsafePointer<Float> {
        UnsafePointer(output + (min(max(y, 0), plan.height - 1) % Self.keep) * plan.width)
    }

    /// Produces the rows up to `y` (clamped to the image).
    mutating func advance(through y: Int) {
        let h = plan.height, r = plan.radius
        while nextOutput <= min(y, h - 1) {
            let pair = nextOutput >= r && nextOutput + 1 + r < h
            while nextSource <= min(nextOutput + (pair ? 1 : 0) + r, h - 1) {
                smoothAlongX(nextSource)
                nextSource += 1
            }
            if pair {
                smoothPairDownward(nextOutput)
                nextOutput += 2
            } else {
                smoothDownward(nextOutput)
                nextOutput += 1
            }
        }
    }

    /// Horizontally smoothed source row `y`.
    private func horizontal(_ y: Int) -> UnsafeMutablePointer<Float> { ring + (y % (2 * plan.radius + 2)) * plan.width }

    /// Output rows y and y + 1, both with all 2r+1 taps inside the image. With lo_k = row y - k and
    /// hi_k = row y + 1 + k, row y sums g_k (lo_k + hi_(k-1)) and row y + 1 sums g_k (lo_(k-1) + hi_k): each
    /// tap loads two rows for two outputs, and each sum adds in the same order as `smoothDownward`.
    private func smoothPairDownward(_ y: Int) {
        let w = plan.width, r = plan.radius
        let first = output + (y % Self.keep) * w, second = output + ((y + 1) % Self.keep) * w
        let scale0 = plan.rowNorm[y], scale1 = plan.rowNorm[y + 1]
        // The rows y - r ... y + 1 + r, at index k + r for row y + k.
        for k in -r...r + 1 { window[k + r] = UnsafePointer(horizontal(y + k)) }
        let rows = window + r
        plan.taps.withUnsafeBufferPointer { g in
            var x = 0
            while x + 16 <= w {
                var lo = load16(rows[0] + x), hi = load16(rows[1] + x)
                var sum0 = g[0] * lo, sum1 = g[0] * hi
                for k in 1...r {
                    let nextLo = load16(rows[-k] + x), nextHi = load16(rows[1 + k] + x)
                    sum0 = multiplyAdd(sum0, g[k], nextLo + hi)
                    sum1 = multiplyAdd(sum1, g[k], lo + nextHi)
                    lo = nextLo
                    hi = nextHi
                }
                store16(sum0 * scale0, first + x)
                store16(sum1 * scale1, second + x)
                x += 16
            }
            while x < w {
                var sum0 = g[0] * rows[0][x], sum1 = g[0] * rows[1][x]
                for k in 1...r {
                    sum0 = multiplyAdd(sum0, g[k], rows[-k][x] + rows[k][x])
                    sum1 = multiplyAdd(sum1, g[k], rows[1 - k][x] + rows[1 + k][x])
                }
                first[x] = sum0 * scale0
                second[x] = sum1 * scale1
                x += 1
            }
        }
    }

    /// Output row y alone; near the top and bottom, taps outside the image are dropped (their weight is
    /// in rowNorm).
    private func smoothDownward(_ y: Int) {
        let w = plan.width, h = plan.height, r = plan.radius
        let out = output + (y % Self.keep) * w
        plan.taps.withUnsafeBufferPointer { g in
            let centre = horizontal(y)
            for x in 0..<w { out[x] = g[0] * centre[x] }
            for k in 1...r {
                let up = y - k >= 0 ? horizontal(y - k) : nil
                let down = y + k < h ? horizontal(y + k) : nil
                if let up, let down {
                    for x in 0..<w { out[x] = multiplyAdd(out[x], g[k], up[x] + down[x]) }
                } else if let one = up ?? down {
                    for x in 0..<w { out[x] = multiplyAdd(out[x], g[k], one[x]) }
                }
            }
        }
        let scale = plan.rowNorm[y]
        for x in 0..<w { out[x] *= scale }
    }

    /// Source row `y` as floats, smoothed along x (zeros outside, renormalised by columnNorm), into the ring.
    private func smoothAlongX(_ y: Int) {
        let w = plan.width, r = plan.radius
        let line = padded + r, from = source + y * w
        for x in 0..<w { line[x] = Float(from[x]) }
        let out = horizontal(y)
        plan.taps.withUnsafeBufferPointer { g in
            plan.columnNorm.withUnsafeBufferPointer { norm in
                var x = 0
                while x + 16 <= w {
                    var sum = g[0] * load16(line + x)
                    for k in 1...r { sum = multiplyAdd(sum, g[k], load16(line + x - k) + load16(line + x + k)) }
                    store16(sum * load16(norm.baseAddress! + x), out + x)
                    x += 16
                }
                while x < w {
                    var sum = g[0] * line[x]
                    for k in 1...r { sum = multiplyAdd(sum, g[k], line[x - k] + line[x + k]) }
                    out[x] = sum * norm[x]
                    x += 1
                }
            }
        }
    }
}
