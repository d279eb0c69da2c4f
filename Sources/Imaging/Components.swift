/// Connected components of a thresholded image, found on horizontal runs rather than pixels: a breast is
/// a few thousand runs, so labelling costs little more than the threshold scan itself.
public struct Component: Sendable, Equatable {
    /// Pixels in the component.
    public var area: Int
    public var box: PixelRect
}

public enum Components {
    /// A horizontal run of foreground pixels [x0, x1) in row y.
    struct Run {
        var y: Int32
        var x0: Int32
        var x1: Int32
    }

    /// Foreground runs (value > threshold) of each row, skipping `margin` pixels at every edge.
    static func runs(_ image: GrayImage, above threshold: UInt16, margin: Int = 0) -> (runs: [Run], rowStarts: [Int]) {
        var runs: [Run] = []
        var rowStarts = [Int](repeating: 0, count: image.height + 1)
        let w = image.width
        let xFrom = min(margin, w), xTo = max(xFrom, w - margin)
        let yFrom = min(margin, image.height), yTo = max(yFrom, image.height - margin)
        image.pixels.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            for y in 0..<image.height {
                rowStarts[y] = runs.count
                guard y >= yFrom && y < yTo else { continue }
                let row = base + y * w
                var x = xFrom
                var inside = false
                var start = 0
                // 64 samples at a time: a block entirely inside or outside the current state is skipped whole
                while x < xTo {
                    if x + 64 <= xTo {
                        // v > t exactly when t - v borrows: branch-free arithmetic the compiler vectorises.
                        var above: UInt32 = 0
                        let t = UInt32(threshold)
                        for k in 0..<64 { above &+= (t &- UInt32(row[x + k])) >> 31 }
                        if above == (inside ? 64 : 0) {
                            x += 64
                            continue
                        }
                    }
                    let end = min(x + 64, xTo)
                    while x < end {
                        let isAbove = row[x] > threshold
                        if isAbove != inside {
                            if isAbove { start = x } else { runs.append(Run(y: Int32(y), x0: Int32(start), x1: Int32(x))) }
                            inside = isAbove
                        }
                        x += 1
                    }
                }
                if inside { runs.append(Run(y: Int32(y), x0: Int32(start), x1: Int32(xTo))) }
            }
            rowStarts[image.height] = runs.count
        }
        return (runs, rowStarts)
    }

    /// Every 8-connected component of pixels brighter than `threshold` (pixels within `margin` of the
    /// edges ignored), largest first; equal areas keep top-to-bottom, left-to-right order of first pixel.
    public static func label(_ image: GrayImage, above threshold: UInt16, margin: Int = 0) -> [Component] {
        let (runs, rowStarts) = runs(image, above: threshold, margin: margin)
        guard !runs.isEmpty else { return [] }
        var parent = Array(0..<runs.count)
        func find(_ i: Int) -> Int {
            var i = i
            while parent[i] != i {
                parent[i] = parent[parent[i]]
                i = parent[i]
            }
            return i
        }
        // Runs in consecutive rows touch (8-connected) when [x0, x1] ranges overlap including diagonals.
        for y in 1..<max(1, image.height) {
            var above = rowStarts[y - 1]
            let aboveEnd = rowStarts[y]
            for i in rowStarts[y]..<rowStarts[y + 1] {
                let r = runs[i]
                while above < aboveEnd && runs[above].x1 < r.x0 { above += 1 }
                var j = above
                while j < aboveEnd && runs[j].x0 <= r.x1 {
                    let a = find(i), b = find(j)
                    if a != b { parent[max(a, b)] = min(a, b) }
                    j += 1
                }
            }
        }
        var byRoot: [Int: Int] = [:]
        var components: [(first: Int, component: Component)] = []
        for (i, r) in runs.enumerated() {
            let root = find(i)
            let x0 = Int(r.x0), x1 = Int(r.x1), y = Int(r.y)
            if let k = byRoot[root] {
                var c = components[k].component
                let minX = min(c.box.x, x0), maxX = max(c.box.maxX, x1)
                let minY = min(c.box.y, y), maxY = max(c.box.maxY, y + 1)
                c.area += x1 - x0
                c.box = PixelRect(x: minX, y: minY, width: maxX - minX, height: maxY - minY)
                components[k].component = c
            } else {
                byRoot[root] = components.count
                components.append((i, Component(area: x1 - x0, box: PixelRect(x: x0, y: y, width: x1 - x0, height: 1))))
            }
        }
        return components.sorted { ($0.component.area, -$0.first) > ($1.component.area, -$1.first) }.map(\.component)
    }
}
