import Foundation

/// Pectoral muscle removal on images with the chest wall on the left (the study's method): Canny edges,
/// Sobel of the edge map, a Hough transform; of the strong lines with normal angle 1-89 degrees and
/// distance `minDistance...maxDistance` from the top-left corner, the nearest is the muscle's edge, and
/// the triangle it cuts from the corner is filled.
///
/// Three checks added to the study's choice (`minSupport` 0, `minContrast` -1 and `meetsChestWall` false
/// reproduce it): a line must be supported by edges along its length, the corner side must be brighter than
/// the breast side, and the line must meet the chest wall inside the image. On the synthetic
/// cohort the study's rule alone took near-vertical lines through dense tissue texture (many weak edges
/// along a long line) as the nearest "muscle edge" in about a third of MLO images.
public enum PectoralRemoval {
    public struct Options: Sendable, Equatable {
        /// Canny's Gaussian sigma, in pixels.
        public var sigma: Double = 2.25
        /// Hysteresis thresholds of Canny, as fractions of full scale (scikit-image's defaults).
        public var lowThreshold: Float = 0.1
        public var highThreshold: Float = 0.2
        /// Normal angles (degrees, 0 = vertical line) a pectoral line may have.
        public var minAngle: Double = 1
        public var maxAngle: Double = 89
        /// Distances from the corner at the reference height below; scaled with the image's height.
        public var minDistance: Double = 1
        public var maxDistance: Double = 384
        public var referenceHeight: Double = 1024
        /// A line is a candidate when its votes reach this fraction of the strongest line in the window
        /// (scikit-image's `hough_line_peaks` default threshold is half the maximum).
        public var peakFraction: Double = 0.5
        /// Votes per pixel of the line's length inside the image that a pectoral edge needs. A clean edge gives
        /// about 0.5 (the Sobel band has a pixel on each side of it); texture lines through dense tissue 0.15-0.25.
        public var minSupport: Double = 0.3
        /// How much brighter (fraction of full scale) the band 4-16 px on the corner side of the line must be
        /// than the band on the breast side: the muscle is denser than the tissue it borders (-1: no check).
        public var minContrast: Double = 0.03
        /// The line must meet the chest wall (the left edge) inside the image, as the muscle's border does in
        /// an MLO view, so that it cuts a triangle rather than a strip down the whole chest-wall side.
        public var meetsChestWall = true
        /// Peaks closer than this (in distance bins and degrees) to a stronger one are suppressed
        /// (`hough_line_peaks`' min_distance and min_angle).
        public var suppressDistance: Int = 9
        public var suppressAngle: Int = 10

        public init() {}
    }

    /// A line x cos(angle) + y sin(angle) = distance, angle in degrees.
    public struct Line: Sendable, Equatable {
        public var angle: Double
        public var distance: Double
        public var votes: Int

        /// Where the line crosses the top edge (y = 0) and the left edge (x = 0).
        public var segment: LineSegment {
            let theta = angle * .pi / 180
            return LineSegment(x0: distance / cos(theta), y0: 0, x1: 0, y1: distance / sin(theta))
        }
    }

    public enum Outcome: Sendable, Equatable {
        case removed(Line, pixels: Int)
        case unchanged(reason: String)
    }

    /// Candidate lines, strongest first, after peak suppression, within the angle and distance window.
    public static func candidateLines(_ image: GrayImage, options: Options = Options(), threads: Int = 1) -> [Line] {
        EdgeWorkspace.borrow { candidateLines(image, options: options, threads: threads, workspace: $0) }
    }

    static func candidateLines(_ image: GrayImage, options: Options, threads: Int, workspace: EdgeWorkspace) -> [Line] {
        let w = image.width, h = image.height
        let scale = Double(h) / options.referenceHeight
        // No line farther than the image's diagonal can cross it.
        let diagonal = Double(w + h)
        let maxD = Int(min(options.maxDistance * scale, diagonal).rounded(.down))
        let minD = Int(max(options.minDistance * scale, 0).rounded(.up))
        let firstAngle = Int(max(options.minAngle, 0).rounded(.up)), lastAngle = Int(min(options.maxAngle, 90).rounded(.down))
        guard maxD >= minD, firstAngle <= lastAngle, w >= 3, h >= 3 else { return [] }
        let angles = Array(firstAngle...lastAngle)
        Edges.detect(image, sigma: options.sigma, low: options.lowThreshold, high: options.highThreshold, threads: threads, workspace: workspace)
        Edges.collectSupport(width: w, height: h, workspace: workspace)
        // Votes: rows are angles, columns distances 0...maxD.
        let stride = maxD + 1, count = angles.count * stride
        let votes = workspace.votes.reserve(count)
        votes.initialize(repeating: 0, count: count)
        vote(workspace.voters, angles: angles, maxDistance: maxD, into: votes)
        var strongest: Int32 = 0
        for i in 0..<count { strongest = max(strongest, votes[i]) }
        let needed = Int32(max(Int((options.peakFraction * Double(strongest)).rounded(.up)), 1))
        // Peaks in decreasing order of votes; each suppresses its neighbourhood.
        var order: [Int] = []
        for i in 0..<count where votes[i] >= needed { order.append(i) }
        order.sort { (votes[$0], -$0) > (votes[$1], -$1) }
        let suppressed = workspace.suppressed.reserve(count)
        suppressed.initialize(repeating: false, count: count)
        var lines: [Line] = []
        for i in order where !suppressed[i] {
            let a = i / stride, d = i % stride
            if d >= minD { lines.append(Line(angle: Double(angles[a]), distance: Double(d), votes: Int(votes[i]))) }
            for da in max(0, a - options.suppressAngle)...min(angles.count - 1, a + options.suppressAngle) {
                for dd in max(0, d - options.suppressDistance)...min(maxD, d + options.suppressDistance) {
                    suppressed[da * stride + dd] = true
                }
            }
        }
        return lines
    }

    /// Adds each voter's line through it at every angle, x cos + y sin rounded (the distances lie in
    /// 0...maxD), to `votes`. out: (angles, maxDistance + 1)
    static func vote(_ voters: [(x: Int32, y: Int32)], angles: [Int], maxDistance maxD: Int, into votes: UnsafeMutablePointer<Int32>) {
        // Cosines and sines eight angles at a time (the tail padded with zeros, never read back).
        let blocks = (angles.count + 7) / 8
        var cosines = [SIMD8<Float>](repeating: .zero, count: blocks), sines = cosines
        for (a, angle) in angles.enumerated() {
            cosines[a / 8][a % 8] = Float(cos(Double(angle) * .pi / 180))
            sines[a / 8][a % 8] = Float(sin(Double(angle) * .pi / 180))
        }
        let stride = maxD + 1
        var distances = [UInt32](repeating: 0, count: blocks * 8)
        distances.withUnsafeMutableBufferPointer { distance in
            let out = UnsafeMutableRawPointer(distance.baseAddress!)
            let last = angles.count - 1, limit = Float(stride)
            for p in voters {
                let x = Float(p.x), y = Float(p.y)
                // d is concave in the angle: beyond reach at both ends is beyond reach at every angle.
                if x * cosines[0][0] + y * sines[0][0] + 0.5 >= limit
                    && x * cosines[last / 8][last % 8] + y * sines[last / 8][last % 8] + 0.5 >= limit { continue }
                for b in 0..<blocks {
                    // d + 0.5 >= 0, so its integer part is the rounded distance. Adding 2^23 rounds to the nearest
                    // integer n (in the low mantissa bits); one less when n came out above (a vector floor, exact
                    // for values below 2^22, i.e. images under two million pixels across).
                    let v = x * cosines[b] + y * sines[b] + 0.5
                    let shifted = v + 8388608
                    let nearest = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B00_0000
                    let above = unsafeBitCast(v - (shifted - 8388608), to: SIMD8<UInt32>.self) &>> 31
                    out.storeBytes(of: nearest &- above, toByteOffset: 32 * b, as: SIMD8<UInt32>.self)
                }
                var row = votes
                for a in 0..<angles.count {
                    let d = Int(distance[a])
                    if d <= maxD { row[d] &+= 1 }
                    row += stride
                }
            }
        }
    }

    /// The part of `line` inside the image: its length, and the mean brightness (fraction of full scale) of
    /// the bands 4-16 px on its corner side minus that on its far side, sampled every pixel along it.
    static func profile(of line: Line, in image: GrayImage) -> (length: Double, contrast: Double) {
        guard let (a, b) = ContactSheet.clip(line.segment, width: Double(image.width), height: Double(image.height)) else { return (0, 0) }
        let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
        let theta = line.angle * .pi / 180
        let nx = cos(theta), ny = sin(theta)  // unit normal, pointing away from the corner
        var inside = 0.0, outside = 0.0, insideCount = 0, outsideCount = 0
        image.pixels.withUnsafeBufferPointer { pixels in
            /// The sample at (px, py) + sign * offset * normal, if inside the image.
            func sample(_ px: Double, _ py: Double, _ along: Double) -> Double? {
                let x = Int((px + along * nx).rounded()), y = Int((py + along * ny).rounded())
                guard x >= 0, y >= 0, x < image.width, y < image.height else { return nil }
                return Double(pixels[y * image.width + x])
            }
            for step in 0..<Int(length) {
                let t = (Double(step) + 0.5) / length
                let px = a.x + (b.x - a.x) * t, py = a.y + (b.y - a.y) * t
                for offset in stride(from: 4.0, through: 16.0, by: 2.0) {
                    if let v = sample(px, py, -offset) { inside += v; insideCount += 1 }
                    if let v = sample(px, py, offset) { outside += v; outsideCount += 1 }
                }
            }
        }
        guard insideCount > 0, outsideCount > 0 else { return (length, 0) }
        return (length, (inside / Double(insideCount) - outside / Double(outsideCount)) / Double(image.maxValue))
    }

    /// Finds the pectoral line and fills the corner triangle with `fill` (nil: the background, the
    /// image's darkest value). The image must have the chest wall on the left.
    public static func remove(from image: inout GrayImage, fill: UInt16? = nil, options: Options = Options(), threads: Int = 1) -> Outcome {
        let lines = candidateLines(image, options: options, threads: threads)
        guard !lines.isEmpty else {
            return .unchanged(reason: "no line with angle \(options.minAngle)-\(options.maxAngle) degrees within the distance window")
        }
        let byDistance = lines.sorted { ($0.distance, -$0.votes) < ($1.distance, -$1.votes) }
        guard let nearest = byDistance.first(where: { line in
            if options.meetsChestWall, line.segment.y1 > Double(image.height) { return false }
            let p = profile(of: line, in: image)
            return Double(line.votes) >= options.minSupport * p.length && p.contrast >= options.minContrast
        }) else {
            return .unchanged(reason: "none of \(lines.count) lines has the edge support and the brighter corner side of a muscle edge")
        }
        let value = fill ?? darkest(image.pixels)
        let s = nearest.segment
        var count = 0
        let spans = polygonSpans([(0, 0), (s.x0, 0), (0, s.y1)], width: image.width, height: image.height)
        let w = image.width
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for (y, ranges) in spans {
                for range in ranges {
                    (pixels.baseAddress! + y * w + range.lowerBound).update(repeating: value, count: range.count)
                    count += range.count
                }
            }
        }
        return .removed(nearest, pixels: count)
    }

    /// The smallest sample (0 for no samples), in a loop the compiler vectorises (`Sequence.min` is not).
    static func darkest(_ pixels: [UInt16]) -> UInt16 {
        guard !pixels.isEmpty else { return 0 }
        return pixels.withUnsafeBufferPointer { samples in
            var smallest = UInt16.max
            for v in samples { smallest = min(smallest, v) }
            return smallest
        }
    }
}
