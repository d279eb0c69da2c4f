import Foundation
import Imaging
import Neural

/// The study's augmentations (albumentations 1.3.1's definitions) on a model-input plane: `height` x `width`
/// floats row-major in 0...1 (`ModelInput.write` makes it; augment, then `ModelInput.normalize`).
/// Each transform has its own probability, all 0 by default; `baseline` and `heavy` are the study's sets.
/// `sample(height:width:using:)` draws which transforms fire and their parameters into a
/// `SampledAugmentation`, a plain value that `apply` then runs: one generator and one config give the same
/// operations in every run. Draw from a generator of the image's own (say seeded by run seed, epoch and
/// index), so the result does not depend on which loader thread takes the image.
public struct AugmentationConfig: Sendable, Equatable {
    // Each transform's parameters start at the study's values and its probability at 0; set what differs.

    /// Mirror left-right or top-bottom.
    public struct Flip: Sendable, Equatable {
        public var probability = 0.0
        public init() {}
    }

    /// albumentations' ShiftScaleRotate: about the plane's centre, rotate by an angle in ±`rotateLimit`
    /// degrees (counterclockwise as displayed when positive), scale by 1 ± `scaleLimit`, shift by ±`shiftLimit`
    /// of the width and the height (cv2.getRotationMatrix2D, then cv2.warpAffine; border 0 where
    /// albumentations defaults to reflection, which would mirror tissue into the black background).
    public struct ShiftScaleRotate: Sendable, Equatable {
        public var probability = 0.0
        public var shiftLimit = 0.0625
        public var scaleLimit = 0.1
        public var rotateLimit = 15.0
        public init() {}
    }

    /// albumentations' Affine about the plane's centre: scale x and y drawn apart from `scale`, translation
    /// from `translate` (fractions of width and height), rotation and shear x and y in degrees, border 0.
    /// albumentations' own defaults are the identity; these ranges are ours.
    public struct Affine: Sendable, Equatable {
        public var probability = 0.0
        public var scale = 0.9...1.1
        public var translate = -0.05...0.05
        public var rotate = -10.0...10.0
        public var shear = -10.0...10.0
        public init() {}
    }

    /// albumentations' OpticalDistortion: OpenCV's radial lens model (k1 = k2 = k, k in ±`distortLimit`)
    /// undone by cv2.initUndistortRectifyMap, with the centre shifted by ±`shiftLimit` of the width and height.
    /// (albumentations 1.3.1 draws the shift in pixels and rounds it, so its default 0.05 never shifts.)
    public struct OpticalDistortion: Sendable, Equatable {
        public var probability = 0.0
        public var distortLimit = 0.05
        public var shiftLimit = 0.05
        public init() {}
    }

    /// albumentations' GridDistortion: `steps` cells a side, each stretched by 1 ± `distortLimit`, making a
    /// piecewise-linear remap of the columns and of the rows.
    public struct GridDistortion: Sendable, Equatable {
        public var probability = 0.0
        public var steps = 5
        public var distortLimit = 0.3
        public init() {}
    }

    /// albumentations' RandomBrightnessContrast (brightness by max): x * alpha + beta, clipped to 0...1, with
    /// alpha = 1 ± `contrastLimit`, beta = ± `brightnessLimit`.
    public struct BrightnessContrast: Sendable, Equatable {
        public var probability = 0.0
        public var brightnessLimit = 0.2
        public var contrastLimit = 0.2
        public init() {}
    }

    /// albumentations' CoarseDropout (cutout): a count of rectangles from `holes`, each of a height and width
    /// drawn as fractions of the plane's, set to 0. (albumentations' defaults are 8 holes of 8 pixels, lost
    /// on a large plane; these ranges are ours.)
    public struct CoarseDropout: Sendable, Equatable {
        public var probability = 0.0
        public var holes = 1...8
        public var heightFraction = 0.05...0.1
        public var widthFraction = 0.05...0.1
        public init() {}
    }

    // Applied in this order (the order of albumentations' Compose in the study).
    public var horizontalFlip = Flip()
    public var verticalFlip = Flip()
    public var shiftScaleRotate = ShiftScaleRotate()
    public var affine = Affine()
    public var opticalDistortion = OpticalDistortion()
    public var gridDistortion = GridDistortion()
    public var brightnessContrast = BrightnessContrast()
    public var coarseDropout = CoarseDropout()

    /// Every transform off.
    public init() {}

    public static let none = AugmentationConfig()

    /// Horizontal flip p = 0.5 and shift-scale-rotate p = 0.5 (shift 0.0625, scale 0.1: albumentations'
    /// defaults; rotation 15 degrees where albumentations defaults to 45).
    public static let baseline: AugmentationConfig = {
        var config = AugmentationConfig()
        config.horizontalFlip.probability = 0.5
        config.shiftScaleRotate.probability = 0.5
        return config
    }()

    /// The study's "++" set: baseline, and each at p = 0.5 with the parameters above: vertical flip, affine,
    /// optical distortion, grid distortion, brightness and contrast, coarse dropout.
    public static let heavy: AugmentationConfig = {
        var config = baseline
        config.verticalFlip.probability = 0.5
        config.affine.probability = 0.5
        config.opticalDistortion.probability = 0.5
        config.gridDistortion.probability = 0.5
        config.brightnessContrast.probability = 0.5
        config.coarseDropout.probability = 0.5
        return config
    }()

    /// The presets by the names a stage's params use.
    public static let presets = [("none", none), ("baseline", baseline), ("heavy", heavy)]

    /// The transforms' names as a stage's params spell them, in the order they apply.
    public static let transformNames = ["horizontal_flip", "vertical_flip", "shift_scale_rotate", "affine",
                                        "optical_distortion", "grid_distortion", "brightness_contrast", "coarse_dropout"]

    /// The preset named `preset`, with the probabilities of the transforms named in `probabilities` replaced.
    public init(preset: String, probabilities: [String: Double] = [:]) throws {
        guard let named = Self.presets.first(where: { $0.0 == preset }) else {
            throw AugmentationConfigError.unknownPreset(preset, valid: Self.presets.map(\.0))
        }
        self = named.1
        for (name, probability) in probabilities.sorted(by: { $0.key < $1.key }) {
            guard let index = Self.transformNames.firstIndex(of: name) else {
                throw AugmentationConfigError.unknownTransform(name, valid: Self.transformNames)
            }
            guard (0...1).contains(probability) else {
                throw AugmentationConfigError.probabilityOutOfRange(transform: name, value: probability)
            }
            Self.probabilityAccessors[index].set(&self, probability)
        }
    }

    /// Each transform's probability by its name in `transformNames` (for a stage's summary).
    public var probabilities: [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(Self.transformNames, Self.probabilityAccessors.map { $0.get(self) }))
    }

    private static let probabilityAccessors: [(get: @Sendable (AugmentationConfig) -> Double, set: @Sendable (inout AugmentationConfig, Double) -> Void)] = [
        ({ $0.horizontalFlip.probability }, { $0.horizontalFlip.probability = $1 }),
        ({ $0.verticalFlip.probability }, { $0.verticalFlip.probability = $1 }),
        ({ $0.shiftScaleRotate.probability }, { $0.shiftScaleRotate.probability = $1 }),
        ({ $0.affine.probability }, { $0.affine.probability = $1 }),
        ({ $0.opticalDistortion.probability }, { $0.opticalDistortion.probability = $1 }),
        ({ $0.gridDistortion.probability }, { $0.gridDistortion.probability = $1 }),
        ({ $0.brightnessContrast.probability }, { $0.brightnessContrast.probability = $1 }),
        ({ $0.coarseDropout.probability }, { $0.coarseDropout.probability = $1 }),
    ]

    /// Draws the augmentation of one `height` x `width` plane. For each transform in order: one uniform draw
    /// that fires it when below its probability, then (if it fired) its parameters in albumentations' order.
    public func sample(height: Int, width: Int, using random: Random) -> SampledAugmentation {
        precondition(height > 0 && width > 0 && gridDistortion.steps >= 1 && coarseDropout.holes.lowerBound >= 0,
                     "augmentation of \(height)x\(width) with \(gridDistortion.steps) grid steps, \(coarseDropout.holes) holes")
        var operations: [SampledAugmentation.Operation] = []
        func fires(_ probability: Double) -> Bool { random.unit() < probability }
        if fires(horizontalFlip.probability) { operations.append(.horizontalFlip) }
        if fires(verticalFlip.probability) { operations.append(.verticalFlip) }
        if fires(shiftScaleRotate.probability) {
            let s = shiftScaleRotate
            let angle = random.uniform(in: -s.rotateLimit...s.rotateLimit)
            let scale = random.uniform(in: 1 - s.scaleLimit...1 + s.scaleLimit)
            let dx = random.uniform(in: -s.shiftLimit...s.shiftLimit)
            let dy = random.uniform(in: -s.shiftLimit...s.shiftLimit)
            operations.append(.shiftScaleRotate(angle: angle, scale: scale, dx: dx, dy: dy))
        }
        if fires(affine.probability) {
            let a = affine
            let translateX = random.uniform(in: a.translate) * Double(width)
            let translateY = random.uniform(in: a.translate) * Double(height)
            let shearX = random.uniform(in: a.shear), shearY = random.uniform(in: a.shear)
            let scaleX = random.uniform(in: a.scale), scaleY = random.uniform(in: a.scale)
            let rotate = random.uniform(in: a.rotate)
            operations.append(.affine(AffineParameters(translateX: translateX, translateY: translateY, shearX: shearX, shearY: shearY,
                                                       scaleX: scaleX, scaleY: scaleY, rotate: rotate)))
        }
        if fires(opticalDistortion.probability) {
            let o = opticalDistortion
            let k = random.uniform(in: -o.distortLimit...o.distortLimit)
            let dx = random.uniform(in: -o.shiftLimit...o.shiftLimit) * Double(width)
            let dy = random.uniform(in: -o.shiftLimit...o.shiftLimit) * Double(height)
            operations.append(.opticalDistortion(k: k, dx: dx, dy: dy))
        }
        if fires(gridDistortion.probability) {
            let g = gridDistortion
            let xSteps = (0...g.steps).map { _ in 1 + random.uniform(in: -g.distortLimit...g.distortLimit) }
            let ySteps = (0...g.steps).map { _ in 1 + random.uniform(in: -g.distortLimit...g.distortLimit) }
            operations.append(.gridDistortion(xSteps: xSteps, ySteps: ySteps))
        }
        if fires(brightnessContrast.probability) {
            let b = brightnessContrast
            let alpha = 1 + random.uniform(in: -b.contrastLimit...b.contrastLimit)
            let beta = random.uniform(in: -b.brightnessLimit...b.brightnessLimit)
            operations.append(.brightnessContrast(alpha: alpha, beta: beta))
        }
        if fires(coarseDropout.probability) {
            let c = coarseDropout
            let count = c.holes.lowerBound + random.int(c.holes.count)
            let holes = (0..<count).map { _ in
                let h = Int(Double(height) * random.uniform(in: c.heightFraction))
                let w = Int(Double(width) * random.uniform(in: c.widthFraction))
                let y = random.int(max(0, height - h) + 1), x = random.int(max(0, width - w) + 1)
                return PixelRect(x: x, y: y, width: min(w, width), height: min(h, height))
            }
            operations.append(.coarseDropout(holes: holes))
        }
        return SampledAugmentation(height: height, width: width, operations: operations)
    }
}

/// A misspelt or out-of-range augmentation param, with the valid choices.
public enum AugmentationConfigError: Error, Equatable, CustomStringConvertible {
    case unknownPreset(String, valid: [String])
    case unknownTransform(String, valid: [String])
    case probabilityOutOfRange(transform: String, value: Double)

    public var description: String {
        switch self {
        case .unknownPreset(let name, let valid):
            return "unknown augmentation preset '\(name)' (valid: \(valid.joined(separator: ", ")))\(Self.suggestion(name, valid))"
        case .unknownTransform(let name, let valid):
            return "unknown augmentation '\(name)' (valid: \(valid.joined(separator: ", ")))\(Self.suggestion(name, valid))"
        case .probabilityOutOfRange(let name, let value):
            return "augmentation '\(name)': probability must be in 0...1, found \(value)"
        }
    }

    /// "; did you mean 'x'?" for the closest valid name within a few edits, else "".
    static func suggestion(_ name: String, _ valid: [String]) -> String {
        let scored = valid.map { ($0, editDistance(name.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, best.0.count / 3) else { return "" }
        return "; did you mean '\(best.0)'?"
    }

    /// Levenshtein distance (insertions, deletions, substitutions).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let b = Array(b)
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The drawn parameters of albumentations' Affine (translation in pixels, angles in degrees).
public struct AffineParameters: Sendable, Equatable {
    public var translateX, translateY, shearX, shearY, scaleX, scaleY, rotate: Double
    public init(translateX: Double, translateY: Double, shearX: Double, shearY: Double, scaleX: Double, scaleY: Double, rotate: Double) {
        self.translateX = translateX
        self.translateY = translateY
        self.shearX = shearX
        self.shearY = shearY
        self.scaleX = scaleX
        self.scaleY = scaleY
        self.rotate = rotate
    }
}

/// A 2 x 3 affine map of pixel coordinates, [m00 m01 m02; m10 m11 m12] (x, y, 1) -> (x', y'): OpenCV's
/// warpAffine matrix, from source to output.
public struct AffineMatrix: Sendable, Equatable {
    public var m00, m01, m02, m10, m11, m12: Double

    public init(_ m00: Double, _ m01: Double, _ m02: Double, _ m10: Double, _ m11: Double, _ m12: Double) {
        (self.m00, self.m01, self.m02, self.m10, self.m11, self.m12) = (m00, m01, m02, m10, m11, m12)
    }

    /// albumentations' shift_scale_rotate: cv2.getRotationMatrix2D about the centre of a `width` x `height`
    /// plane, ((width - 1) / 2, (height - 1) / 2), then the shift (dx width, dy height).
    public static func shiftScaleRotate(angle: Double, scale: Double, dx: Double, dy: Double, width: Int, height: Int) -> AffineMatrix {
        let radians = angle * Double.pi / 180
        let alpha = scale * cos(radians), beta = scale * sin(radians)
        let cx = Double(width) / 2 - 0.5, cy = Double(height) / 2 - 0.5
        return AffineMatrix(alpha, beta, (1 - alpha) * cx - beta * cy + dx * Double(width),
                            -beta, alpha, beta * cx + (1 - alpha) * cy + dy * Double(height))
    }

    /// albumentations 1.3.1's Affine matrix (with scikit-image 0.26's AffineTransform): about the plane's centre,
    /// shear y, then scale, shear x, rotation and translation; albumentations negates the drawn rotation and
    /// shears (its issue 1079).
    public static func affine(_ p: AffineParameters, width: Int, height: Int) -> AffineMatrix {
        let rotation = -p.rotate * Double.pi / 180
        let shearX = tan(-p.shearX * Double.pi / 180), shearY = tan(-p.shearY * Double.pi / 180)
        let (c, s) = (cos(rotation), sin(rotation))
        // Linear part R(rotation) [1 -shearX; 0 1] diag(scaleX, scaleY) [1 0; shearY 1].
        let a00 = c * p.scaleX, a01 = (-c * shearX - s) * p.scaleY
        let a10 = s * p.scaleX, a11 = (-s * shearX + c) * p.scaleY
        let l00 = a00 + a01 * shearY, l01 = a01, l10 = a10 + a11 * shearY, l11 = a11
        let cx = Double(width) / 2 - 0.5, cy = Double(height) / 2 - 0.5
        return AffineMatrix(l00, l01, cx + p.translateX - l00 * cx - l01 * cy,
                            l10, l11, cy + p.translateY - l10 * cx - l11 * cy)
    }

    /// The inverse map, as cv2.invertAffineTransform (an inverse of a singular matrix is all zeros).
    public func inverted() -> AffineMatrix {
        let determinant = m00 * m11 - m01 * m10
        let d = determinant != 0 ? 1 / determinant : 0
        let a11 = m11 * d, a22 = m00 * d, a12 = -m01 * d, a21 = -m10 * d
        return AffineMatrix(a11, a12, -a11 * m02 - a12 * m12, a21, a22, -a21 * m02 - a22 * m12)
    }
}

/// Buffers `SampledAugmentation.apply` reuses from image to image (a copy of the plane, one row of coordinates).
public struct AugmentationScratch {
    var source: [Float] = []
    var xs: [Float] = []
    var ys: [Float] = []
    public init() {}
}

/// One drawn augmentation of a `height` x `width` plane: the operations that fired with their parameters.
public struct SampledAugmentation: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        case horizontalFlip
        case verticalFlip
        /// Angle in degrees, scale, shifts as fractions of width and height.
        case shiftScaleRotate(angle: Double, scale: Double, dx: Double, dy: Double)
        case affine(AffineParameters)
        /// Distortion coefficient, centre shift in pixels.
        case opticalDistortion(k: Double, dx: Double, dy: Double)
        /// The stretch of each of the steps + 1 cells along x and along y.
        case gridDistortion(xSteps: [Double], ySteps: [Double])
        case brightnessContrast(alpha: Double, beta: Double)
        case coarseDropout(holes: [PixelRect])
    }

    public let height: Int
    public let width: Int
    public var operations: [Operation]

    public init(height: Int, width: Int, operations: [Operation]) {
        self.height = height
        self.width = width
        self.operations = operations
    }

    /// Runs the operations in order on `plane` (`height * width` floats).
    public func apply(to plane: UnsafeMutablePointer<Float>, scratch: inout AugmentationScratch) {
        for operation in operations {
            switch operation {
            case .horizontalFlip: flipHorizontally(plane)
            case .verticalFlip: flipVertically(plane)
            case .shiftScaleRotate(let angle, let scale, let dx, let dy):
                warp(plane, by: .shiftScaleRotate(angle: angle, scale: scale, dx: dx, dy: dy, width: width, height: height), &scratch)
            case .affine(let parameters):
                warp(plane, by: .affine(parameters, width: width, height: height), &scratch)
            case .opticalDistortion(let k, let dx, let dy):
                distortOptically(plane, k: k, dx: dx, dy: dy, &scratch)
            case .gridDistortion(let xSteps, let ySteps):
                distortGrid(plane, xSteps: xSteps, ySteps: ySteps, &scratch)
            case .brightnessContrast(let alpha, let beta):
                let a = Float(alpha), b = Float(beta)
                for i in 0..<height * width { plane[i] = min(max(plane[i] * a + b, 0), 1) }
            case .coarseDropout(let holes):
                for hole in holes {
                    for y in hole.y..<hole.maxY { (plane + y * width + hole.x).update(repeating: 0, count: hole.width) }
                }
            }
        }
    }

    func flipHorizontally(_ plane: UnsafeMutablePointer<Float>) {
        for y in 0..<height {
            let row = plane + y * width
            for x in 0..<width / 2 { swap(&row[x], &row[width - 1 - x]) }
        }
    }

    func flipVertically(_ plane: UnsafeMutablePointer<Float>) {
        for y in 0..<height / 2 {
            let top = plane + y * width, bottom = plane + (height - 1 - y) * width
            for x in 0..<width { swap(&top[x], &bottom[x]) }
        }
    }

    /// cv2.warpAffine(plane, matrix, INTER_LINEAR, BORDER_CONSTANT 0): output (x, y) samples the source at
    /// matrix⁻¹ (x, y).
    func warp(_ plane: UnsafeMutablePointer<Float>, by matrix: AffineMatrix, _ scratch: inout AugmentationScratch) {
        let inverse = matrix.inverted()
        remapRows(plane, &scratch) { y, xs, ys in
            let baseX = inverse.m01 * Double(y) + inverse.m02, baseY = inverse.m11 * Double(y) + inverse.m12
            for x in 0..<width {
                xs[x] = Float(inverse.m00 * Double(x) + baseX)
                ys[x] = Float(inverse.m10 * Double(x) + baseY)
            }
        }
    }

    /// albumentations' optical_distortion: the map of cv2.initUndistortRectifyMap for the camera fx = width,
    /// fy = height, centre (cx, cy) = (width / 2 + dx, height / 2 + dy), distortion (k, k, 0, 0, 0) and no new
    /// camera matrix, so OpenCV takes the same one centred on the plane, ((width - 1) / 2, (height - 1) / 2).
    /// With (u, v) = ((x - (width - 1) / 2) / fx, (y - (height - 1) / 2) / fy) and r² = u² + v², the source
    /// is (cx + fx u (1 + k r² + k r⁴), cy + fy v (1 + k r² + k r⁴)); at k = 0 a shift by (dx + 0.5, dy + 0.5).
    func distortOptically(_ plane: UnsafeMutablePointer<Float>, k: Double, dx: Double, dy: Double, _ scratch: inout AugmentationScratch) {
        let fx = Double(width), fy = Double(height)
        let cx = Double(width) * 0.5 + dx, cy = Double(height) * 0.5 + dy
        let centreX = Double(width - 1) / 2, centreY = Double(height - 1) / 2
        remapRows(plane, &scratch) { y, xs, ys in
            let v = (Double(y) - centreY) / fy
            for x in 0..<width {
                let u = (Double(x) - centreX) / fx
                let r2 = u * u + v * v
                let radial = 1 + (k * r2 + k) * r2
                xs[x] = Float(fx * u * radial + cx)
                ys[x] = Float(fy * v * radial + cy)
            }
        }
    }

    /// albumentations 1.3.1's grid_distortion: each axis cut into cells of length / steps samples (the last takes
    /// the remainder); cell i's source span is its length times its stretch, linearly spaced and joined end to
    /// end from 0 (a remainder cell ends at the edge). A column's source x depends on x alone, a row's y on y.
    func distortGrid(_ plane: UnsafeMutablePointer<Float>, xSteps: [Double], ySteps: [Double], _ scratch: inout AugmentationScratch) {
        let columns = Self.gridMap(length: width, stretches: xSteps)
        let rows = Self.gridMap(length: height, stretches: ySteps)
        remapRows(plane, &scratch) { y, xs, ys in
            for x in 0..<width {
                xs[x] = columns[x]
                ys[x] = rows[y]
            }
        }
    }

    /// One axis of the grid map (numpy.linspace per cell, cast to float32 as albumentations does).
    static func gridMap(length: Int, stretches: [Double]) -> [Float] {
        let steps = stretches.count - 1
        let cell = length / steps
        var map = [Float](repeating: 0, count: length)
        var previous = 0.0
        for (index, stretch) in stretches.enumerated() {
            let start = index * cell
            var end = start + cell, current = previous + Double(cell) * stretch
            if end > length { end = length; current = Double(length) }
            let count = end - start
            if count > 0 {
                let step = count > 1 ? (current - previous) / Double(count - 1) : 0
                for j in 0..<count { map[start + j] = Float(Double(j) * step + previous) }
                map[end - 1] = Float(count > 1 ? current : previous)
            }
            previous = current
        }
        return map
    }

    /// Copies the plane aside, then fills each output row y by bilinear sampling of the copy at the coordinates
    /// `coordinates(y, xs, ys)` writes (`width` of each).
    private func remapRows(_ plane: UnsafeMutablePointer<Float>, _ scratch: inout AugmentationScratch,
                           _ coordinates: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let count = height * width
        if scratch.source.count < count { scratch.source = [Float](repeating: 0, count: count) }
        if scratch.xs.count < width { scratch.xs = [Float](repeating: 0, count: width); scratch.ys = scratch.xs }
        let (h, w) = (height, width)
        scratch.source.withUnsafeMutableBufferPointer { source in
            scratch.xs.withUnsafeMutableBufferPointer { xs in
                scratch.ys.withUnsafeMutableBufferPointer { ys in
                    source.baseAddress!.update(from: plane, count: count)
                    for y in 0..<h {
                        coordinates(y, xs.baseAddress!, ys.baseAddress!)
                        sampleBilinear(source.baseAddress!, height: h, width: w, xs: xs.baseAddress!, ys: ys.baseAddress!,
                                       count: w, into: plane + y * w)
                    }
                }
            }
        }
    }
}

/// cv2.remap(source, mapX, mapY, INTER_LINEAR, BORDER_CONSTANT 0) on a `height` x `width` plane: output i is
/// the source at (mapX[i], mapY[i]) interpolated between its four neighbours, a neighbour outside the plane
/// counting as 0.
func remap(_ source: UnsafePointer<Float>, height: Int, width: Int, mapX: UnsafePointer<Float>, mapY: UnsafePointer<Float>,
           into output: UnsafeMutablePointer<Float>) {
    for y in 0..<height {
        sampleBilinear(source, height: height, width: width, xs: mapX + y * width, ys: mapY + y * width, count: width, into: output + y * width)
    }
}

/// `count` samples of `source` at (xs[i], ys[i]) as `remap` describes.
func sampleBilinear(_ source: UnsafePointer<Float>, height: Int, width: Int, xs: UnsafePointer<Float>, ys: UnsafePointer<Float>,
                    count: Int, into output: UnsafeMutablePointer<Float>) {
    let right = Float(width), bottom = Float(height), lastX = Float(width - 1), lastY = Float(height - 1)
    for i in 0..<count {
        let x = xs[i], y = ys[i]
        if x >= 0, y >= 0, x < lastX, y < lastY {
            // All four neighbours inside (the common case): truncation is the floor.
            let x0 = Int(x), y0 = Int(y)
            let ax = x - Float(x0), ay = y - Float(y0)
            let p = source + y0 * width + x0
            let top = p[0] + ax * (p[1] - p[0])
            let low = p[width] + ax * (p[width + 1] - p[width])
            output[i] = top + ay * (low - top)
            continue
        }
        // Also false for NaN: nothing of the plane within reach.
        guard x > -1, x < right, y > -1, y < bottom else { output[i] = 0; continue }
        let floorX = x.rounded(.down), floorY = y.rounded(.down)
        let ax = x - floorX, ay = y - floorY
        let x0 = Int(floorX), y0 = Int(floorY)
        let p = source + y0 * width + x0
        // At the border: the neighbours outside count as 0.
        let inX0 = x0 >= 0, inX1 = x0 + 1 < width, inY0 = y0 >= 0, inY1 = y0 + 1 < height
        let v00: Float = inY0 && inX0 ? p[0] : 0
        let v01: Float = inY0 && inX1 ? p[1] : 0
        let v10: Float = inY1 && inX0 ? p[width] : 0
        let v11: Float = inY1 && inX1 ? p[width + 1] : 0
        let top = v00 + ax * (v01 - v00), low = v10 + ax * (v11 - v10)
        output[i] = top + ay * (low - top)
    }
}

extension Random {
    /// Uniform in [0, 1) with 53 bits (the gates and parameters here are doubles, as Python's random).
    func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    func uniform(in range: ClosedRange<Double>) -> Double { range.lowerBound + (range.upperBound - range.lowerBound) * unit() }
}
