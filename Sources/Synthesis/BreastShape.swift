import Foundation

/// The kinds of projection the renderer distinguishes: craniocaudal-like (no pectoral muscle) and
/// mediolateral-like (MLO and RSNA's rare ML, LM, LMO: pectoral wedge in the upper chest-wall corner).
enum Projection {
    case craniocaudal, mediolateral

    init(view: String) {
        self = ["MLO", "ML", "LM", "LMO"].contains(view) ? .mediolateral : .craniocaudal
    }
}

/// The breast outline of one image in canonical orientation (chest wall at x = 0, nipple to the right), in
/// full-resolution pixel coordinates (pixel centres at integers). Each row's breast is the prefix x < boundary(y):
/// compressed breasts are convex along rows, and this makes the mask, its area and its box exact and cheap.
struct BreastShape {
    let width: Int
    let height: Int
    let projection: Projection
    /// Nipple depth (distance from the chest wall) and row.
    let depth: Double
    let nippleRow: Double
    /// Half heights above and below the nipple row (craniocaudal), or below it (mediolateral).
    let halfHeightUp: Double
    let halfHeightDown: Double
    /// Mediolateral: where the outline meets the top edge (the axillary tail).
    let topWidth: Double
    /// The outline is an ellipse centred `setback` behind the chest wall, so it meets the wall at a slant.
    let setback: Double
    let nippleBump: Double
    let nippleWidth: Double
    let wobbleAmplitude: Double
    let wobbleFrequency: Double
    let wobblePhase: Double
    /// Pectoral muscle (mediolateral only): the edge runs from (pectoralTop, 0) to (0, pectoralLeft), bulging by `pectoralBulge`.
    let pectoralTop: Double
    let pectoralLeft: Double
    let pectoralBulge: Double

    init(width: Int, height: Int, projection: Projection, breastSize: Double, pixelsPerMM: Double, rng: inout SynthRandom) {
        self.width = width
        self.height = height
        self.projection = projection
        let w = Double(width), h = Double(height)
        depth = w * min(0.82, breastSize * rng.uniform(0.9, 1.0) * (projection == .mediolateral ? 0.72 : 0.66))
        nippleRow = h * (projection == .mediolateral ? rng.uniform(0.5, 0.58) : rng.uniform(0.47, 0.53))
        halfHeightUp = h * breastSize * rng.uniform(0.34, 0.40)
        halfHeightDown = h * breastSize * rng.uniform(0.30, 0.38)
        topWidth = w * rng.uniform(0.28, 0.42) * breastSize
        setback = depth * rng.uniform(0.15, 0.35)
        nippleBump = 4 * pixelsPerMM * rng.uniform(0.5, 1.2)
        nippleWidth = 6 * pixelsPerMM
        wobbleAmplitude = rng.uniform(0.005, 0.025)
        wobbleFrequency = rng.uniform(1.5, 3.5)
        wobblePhase = rng.uniform(0, 2 * Double.pi)
        pectoralTop = topWidth * rng.uniform(0.6, 0.85)
        pectoralLeft = h * rng.uniform(0.3, min(0.55, nippleRow / h - 0.05))
        pectoralBulge = w * rng.uniform(0.0, 0.04)
    }

    /// x_b(y): pixels of row y with x < x_b(y) are breast (0 when the row has none).
    func boundary(_ y: Double) -> Double {
        var x: Double
        let wobble = 1 + wobbleAmplitude * sin(wobbleFrequency * 2 * Double.pi * y / Double(height) + wobblePhase)
        if projection == .mediolateral && y < nippleRow {
            // From the axilla at the top edge out to the nipple.
            let t = (nippleRow - y) / nippleRow
            x = topWidth + (depth - topWidth) * (1 - t * t).squareRoot()
        } else {
            let half = y < nippleRow ? halfHeightUp : halfHeightDown
            let t = (y - nippleRow) / half
            if abs(t) >= 1 { return 0 }
            x = (depth + setback) * (1 - t * t).squareRoot() - setback
        }
        let n = (y - nippleRow) / nippleWidth
        x = x * wobble + nippleBump * exp(-n * n)
        return max(0, min(x, Double(width)))
    }

    /// The pectoral edge x_p(y) (mediolateral): muscle where x < x_p(y); slightly convex.
    func pectoralEdge(_ y: Double) -> Double {
        guard projection == .mediolateral, y < pectoralLeft else { return 0 }
        let t = y / pectoralLeft
        return pectoralTop * (1 - t) + pectoralBulge * sin(Double.pi * t)
    }

    var nipple: (x: Double, y: Double) { (boundary(nippleRow), nippleRow) }

    /// Number of breast pixels in row y (the exact mask the truth reports).
    @inline(__always)
    func rowExtent(_ y: Int) -> Int {
        let b = boundary(Double(y))
        return b <= 0 ? 0 : min(width, Int(b.rounded(.up)))
    }

    /// The breast rows at column x, as (first, last); nil when the column is outside the breast.
    func columnExtent(_ x: Double) -> (Double, Double)? {
        var first: Double?, last: Double?
        let step = max(1, height / 512)
        for y in stride(from: 0, to: height, by: step) where boundary(Double(y)) > x {
            if first == nil { first = Double(y) }
            last = Double(y)
        }
        guard let f = first, let l = last else { return nil }
        return (f, l)
    }

    /// Places a point given in breast-relative coordinates shared by all views of a breast: `fraction` of the
    /// nipple depth from the chest wall, `offset` in -1...1 across the breast at that depth. Keeps `margin`
    /// pixels inside the outline and clear of the pectoral muscle.
    func place(fraction: Double, offset: Double, margin: Double) -> (x: Double, y: Double) {
        var x = fraction * depth
        for _ in 0..<8 {
            guard let (first, last) = columnExtent(x + margin) else { x *= 0.85; continue }
            let mid = (first + last) / 2, half = max(0, (last - first) / 2 - margin)
            let y = mid + offset * 0.8 * half
            if x - margin < pectoralEdge(y) { x = pectoralEdge(y) + margin * 1.5; continue }
            if x + margin < boundary(y) { return (x, y) }
            x *= 0.9
        }
        return (max(x, pectoralEdge(nippleRow) + margin), nippleRow)
    }
}
