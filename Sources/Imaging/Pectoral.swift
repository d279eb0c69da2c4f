import Foundation

/// Pectoral muscle removal on images with the chest wall on the left (the study's method): Canny edges,
/// Sobel of the edge map, a Hough transform; of the strong lines with normal angle 1-89 degrees and
/// distance `minDistance...maxDistance` from the top-left corner, the nearest is the muscle's edge, and
/// the triangle it cuts from the corner is filled.
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
        /// And at least this many votes per pixel of image height (rejects short noise edges).
        public var minVotesPerHeight: Double = 0.1
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
        let w = image.width, h = image.height
        let edges = Edges.canny(image, sigma: options.sigma, low: options.lowThreshold, high: options.highThreshold, threads: threads)
        let voters = Edges.sobelSupport(ofEdges: edges, width: w, height: h)
        let scale = Double(h) / options.referenceHeight
        let maxD = Int((options.maxDistance * scale).rounded(.down)), minD = Int((options.minDistance * scale).rounded(.up))
        let angles = Array(Int(options.minAngle.rounded(.up))...Int(options.maxAngle.rounded(.down)))
        guard maxD >= minD, !angles.isEmpty else { return [] }
        let cosines = angles.map { Float(cos(Double($0) * .pi / 180)) }
        let sines = angles.map { Float(sin(Double($0) * .pi / 180)) }
        // Votes: rows are angles, columns distances 0...maxD.
        let stride = maxD + 1
        var votes = [Int32](repeating: 0, count: angles.count * stride)
        let reachFirst = (cosines.first!, sines.first!), reachLast = (cosines.last!, sines.last!)
        votes.withUnsafeMutableBufferPointer { acc in
            for p in voters {
                let x = Float(p.x), y = Float(p.y)
                // The smallest distance over the angle window is at one of its ends: skip pixels beyond reach.
                if min(x * reachFirst.0 + y * reachFirst.1, x * reachLast.0 + y * reachLast.1) > Float(maxD) + 0.5 { continue }
                for a in 0..<angles.count {
                    let d = Int((x * cosines[a] + y * sines[a]).rounded())
                    if d <= maxD && d >= 0 { acc[a * stride + d] += 1 }
                }
            }
        }
        let strongest = Int(votes.max() ?? 0)
        let needed = max(Int((options.peakFraction * Double(strongest)).rounded(.up)),
                         Int((options.minVotesPerHeight * Double(h)).rounded(.up)), 1)
        // Peaks in decreasing order of votes; each suppresses its neighbourhood.
        var order = votes.indices.filter { Int(votes[$0]) >= needed }
        order.sort { (votes[$0], -$0) > (votes[$1], -$1) }
        var suppressed = Set<Int>()
        var lines: [Line] = []
        for i in order where !suppressed.contains(i) {
            let a = i / stride, d = i % stride
            if d >= minD { lines.append(Line(angle: Double(angles[a]), distance: Double(d), votes: Int(votes[i]))) }
            for da in max(0, a - options.suppressAngle)...min(angles.count - 1, a + options.suppressAngle) {
                for dd in max(0, d - options.suppressDistance)...min(maxD, d + options.suppressDistance) {
                    suppressed.insert(da * stride + dd)
                }
            }
        }
        return lines
    }

    /// Finds the pectoral line and fills the corner triangle with `fill` (nil: the background, the
    /// image's darkest value). The image must have the chest wall on the left.
    public static func remove(from image: inout GrayImage, fill: UInt16? = nil, options: Options = Options(), threads: Int = 1) -> Outcome {
        let lines = candidateLines(image, options: options, threads: threads)
        guard let nearest = lines.min(by: { ($0.distance, -$0.votes) < ($1.distance, -$1.votes) }) else {
            return .unchanged(reason: "no line with angle \(options.minAngle)-\(options.maxAngle) degrees within the distance window")
        }
        let value = fill ?? image.pixels.min() ?? 0
        let s = nearest.segment
        var count = 0
        let spans = polygonSpans([(0, 0), (s.x0, 0), (0, s.y1)], width: image.width, height: image.height)
        for (y, ranges) in spans {
            for range in ranges {
                for x in range { image.pixels[y * image.width + x] = value }
                count += range.count
            }
        }
        return .removed(nearest, pixels: count)
    }
}
