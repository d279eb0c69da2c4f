import Shards
// TEMPORARY until the augment branch's ModelInput lands: nearest-neighbour letterbox.
public func scratchPrepare(_ size: ModelInputSize) -> (ImagePayload, UnsafeMutablePointer<Float>) -> Void {
    return { p, out in
        let scale = min(Double(size.height) / Double(p.height), Double(size.width) / Double(p.width))
        let h = max(1, Int(Double(p.height) * scale)), w = max(1, Int(Double(p.width) * scale))
        let top = (size.height - h) / 2
        out.update(repeating: 0, count: size.height * size.width)
        let norm = 1 / Float((1 << p.bits) - 1)
        for y in 0..<h {
            let sy = min(p.height - 1, Int(Double(y) / scale))
            for x in 0..<w {
                let sx = min(p.width - 1, Int(Double(x) / scale))
                out[(top + y) * size.width + x] = (Float(p.samples[sy * p.width + sx]) * norm - 0.5) / 0.25
            }
        }
    }
}
