/// Finding the breast: threshold, keep the largest 8-connected component, take its bounding box.
/// Burned-in markers, labels and speckle are separate, smaller components, so they never win.
public enum BreastCrop {
    public enum Threshold: Sendable, Equatable {
        /// The study's method: a fixed fraction of full scale (20/255 on its 8-bit images).
        case fraction(Double)
        /// Otsu's threshold on the image's histogram.
        case otsu
    }

    public struct Options: Sendable, Equatable {
        public var threshold: Threshold
        /// Width of the frame at each image edge ignored while labelling, as a fraction of the shorter side
        /// (scanner edges and collimator lines are often bright and would join everything); a component that
        /// reaches into the frame has its box extended to the image edge.
        public var border: Double
        /// Smallest component accepted as a breast, as a fraction of the image area.
        public var minAreaFraction: Double

        public init(threshold: Threshold = .fraction(20.0 / 255.0), border: Double = 0.01, minAreaFraction: Double = 0.02) {
            self.threshold = threshold
            self.border = border
            self.minAreaFraction = minAreaFraction
        }
    }

    public struct Found: Sendable, Equatable {
        public var box: PixelRect
        /// Pixels of the breast component.
        public var area: Int
        /// The threshold used (pixels above it are foreground).
        public var threshold: UInt16
    }

    /// Why no breast was found; becomes a recorded reject.
    public struct NotFound: Error, CustomStringConvertible, Equatable {
        public let reason: String
        public var description: String { reason }
    }

    public static func threshold(for image: GrayImage, _ threshold: Threshold) -> UInt16 {
        switch threshold {
        case .fraction(let f): return UInt16(min(Double(image.maxValue), max(0, (f * Double(image.maxValue)).rounded())))
        case .otsu: return Histogram(image).otsuThreshold()
        }
    }

    public static func find(in image: GrayImage, options: Options = Options()) throws -> Found {
        guard image.width > 0, image.height > 0 else { throw NotFound(reason: "empty image") }
        let t = threshold(for: image, options.threshold)
        let margin = min(Int((options.border * Double(min(image.width, image.height))).rounded()),
                         (min(image.width, image.height) - 1) / 2)
        guard let largest = Components.label(image, above: t, margin: margin).first else {
            throw NotFound(reason: "no pixel above the threshold \(t)")
        }
        let needed = Int((options.minAreaFraction * Double(image.width * image.height)).rounded(.up))
        guard largest.area >= max(1, needed) else {
            throw NotFound(reason: "largest bright region is \(largest.area) px, less than \(options.minAreaFraction * 100)% of the image")
        }
        var box = largest.box
        if box.x == margin { box.width += box.x; box.x = 0 }
        if box.y == margin { box.height += box.y; box.y = 0 }
        if box.maxX == image.width - margin { box.width = image.width - box.x }
        if box.maxY == image.height - margin { box.height = image.height - box.y }
        return Found(box: box, area: largest.area, threshold: t)
    }
}

/// A histogram of sample values, one bin per value.
public struct Histogram: Sendable {
    public let counts: [Int]

    public init(_ image: GrayImage) {
        var counts = [Int](repeating: 0, count: 1 << image.bits)
        counts.withUnsafeMutableBufferPointer { c in
            for v in image.pixels { c[Int(min(v, image.maxValue))] += 1 }
        }
        self.counts = counts
    }

    /// Otsu's threshold: the value t maximising the between-class variance of {<= t} and {> t}.
    public func otsuThreshold() -> UInt16 {
        let total = Double(counts.reduce(0, +))
        guard total > 0 else { return 0 }
        var sumAll = 0.0
        for (v, c) in counts.enumerated() { sumAll += Double(v) * Double(c) }
        var weightBelow = 0.0, sumBelow = 0.0
        var best = -1.0, bestT = 0
        for t in 0..<counts.count - 1 {
            weightBelow += Double(counts[t])
            sumBelow += Double(t) * Double(counts[t])
            let weightAbove = total - weightBelow
            if weightBelow == 0 || weightAbove == 0 { continue }
            let meanBelow = sumBelow / weightBelow, meanAbove = (sumAll - sumBelow) / weightAbove
            let between = weightBelow * weightAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove)
            if between > best {
                best = between
                bestT = t
            }
        }
        return UInt16(bestT)
    }
}

/// Which side of the image the chest wall is on; stages flip images so it is on the left.
public enum ChestWall: String, Sendable, Equatable {
    case left, right

    /// From the laterality column: RSNA images show left breasts with the chest wall on the left and
    /// right breasts with it on the right. Nil for anything but "L"/"R".
    public init?(laterality: String) {
        switch laterality.uppercased() {
        case "L": self = .left
        case "R": self = .right
        default: return nil
        }
    }

    /// The side holding more of the image's brightness: the breast is widest at the chest wall.
    public static func byPixelMass(_ image: GrayImage) -> ChestWall {
        var left = 0, right = 0
        let width = image.width, half = width / 2
        // Sums up to 2^16 samples at a time in 32 bits (they cannot overflow it): four lanes per vector add.
        func sum(_ from: UnsafePointer<UInt16>, _ count: Int) -> Int {
            var total = 0, start = 0
            while start < count {
                let end = min(count, start + 1 << 16)
                var part: UInt32 = 0
                for x in start..<end { part &+= UInt32(from[x]) }
                total += Int(part)
                start = end
            }
            return total
        }
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<image.height {
                let row = pixels.baseAddress! + y * width
                left += sum(row, half)
                right += sum(row + width - half, half)
            }
        }
        return right > left ? .right : .left
    }
}

/// The decision to flip an image so the chest wall is on the left.
public struct Orientation: Sendable, Equatable {
    public var flip: Bool
    /// From laterality, when it is known.
    public var byLaterality: ChestWall?
    public var byMass: ChestWall
    /// Laterality and pixel mass point to different sides (the laterality wins; worth a log line).
    public var disagree: Bool { byLaterality.map { $0 != byMass } ?? false }

    public init(laterality: String?, image: GrayImage) {
        byLaterality = laterality.flatMap(ChestWall.init(laterality:))
        byMass = ChestWall.byPixelMass(image)
        flip = (byLaterality ?? byMass) == .right
    }
}
