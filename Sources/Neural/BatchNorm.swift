import Foundation

/// Batch normalisation over the channels of an NHWC tensor (PyTorch's `nn.BatchNorm2d`), optionally fused
/// with the activation that follows it so the pair makes one pass over memory forward and two backward.
/// Training normalises with the biased batch variance and updates the running variance with the unbiased
/// one; running = (1 - momentum) * running + momentum * batch, exactly as PyTorch.
public final class BatchNorm: Layer {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    public let activation: Activation
    public let gamma: Parameter  // (C)
    public let beta: Parameter  // (C)
    public let runningMean: Tensor  // (C)
    public let runningVar: Tensor  // (C)

    private var xhat: Tensor?  // normalised input, (N, H, W, C)
    private var invStd: [Float] = []

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, activation: Activation = .identity) {
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        self.activation = activation
        gamma = Parameter(Tensor([channels], values: .init(repeating: 1, count: channels)), decays: false)
        beta = Parameter(Tensor([channels]), decays: false)
        runningMean = Tensor([channels])
        runningVar = Tensor([channels], values: .init(repeating: 1, count: channels))
        super.init()
    }

    public override var localParameters: [(String, Parameter)] { [("weight", gamma), ("bias", beta)] }
    public override var localBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    // x: (..., C) -> out: same shape
    public override func forward(_ x: Tensor) -> Tensor {
        let c = channels, rows = x.count / c
        precondition(x.shape.last == c, "BatchNorm expects \(c) channels, got \(x.shape)")
        var mean = [Float](repeating: 0, count: c)
        invStd = [Float](repeating: 0, count: c)
        if training {
            let sums = channelSums(rows, c) { r, acc in addInto(acc, x.data + r * c, c) }
            for ch in 0..<c { mean[ch] = Float(sums[ch] / Double(rows)) }
            let squares = mean.withUnsafeBufferPointer { m in
                channelSums(rows, c) { r, acc in addSquaredDeviation(acc, x.data + r * c, m.baseAddress!, c) }
            }
            for ch in 0..<c {
                let variance = squares[ch] / Double(rows)
                invStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
                let unbiased = rows > 1 ? squares[ch] / Double(rows - 1) : variance
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean[ch]
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(unbiased)
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean[ch]
                invStd[ch] = 1 / (runningVar[ch] + eps).squareRoot()
            }
        }
        let xh = Tensor(uninitialized: x.shape), y = Tensor(uninitialized: x.shape)
        let act = activation
        mean.withUnsafeBufferPointer { m in
            invStd.withUnsafeBufferPointer { s in
                let g = gamma.value.data, b = beta.value.data
                parallelRange(rows, grain: 256) { range in
                    for r in range {
                        let hr = xh.data + r * c, yr = y.data + r * c
                        normalizeRow(x.data + r * c, m.baseAddress!, s.baseAddress!, g, b, hr, yr, c,
                                     relu: act == .relu)
                        if act != .relu && act != .identity {
                            for ch in 0..<c { yr[ch] = act.apply(yr[ch]) }
                        }
                    }
                }
            }
        }
        xhat = xh
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        guard let xh = xhat else { preconditionFailure("BatchNorm.backward before forward") }
        xhat = nil
        let c = channels, rows = xh.count / c
        let g = gamma.value.data, b = beta.value.data, act = activation
        // dz = dy * act'(gamma * xhat + beta), kept in dx; sums of dz and dz * xhat per channel.
        let dx = Tensor(uninitialized: xh.shape)
        let sums = channelSums(rows, 2 * c) { r, acc in
            let hr = xh.data + r * c, dyr = dy.data + r * c, dzr = dx.data + r * c
            switch act {
            case .identity: dzr.update(from: dyr, count: c)
            case .relu: reluGate(dzr, dyr, hr, g, b, c)
            default: for ch in 0..<c { dzr[ch] = dyr[ch] * act.derivative(hr[ch] * g[ch] + b[ch]) }
            }
            addInto(acc, dzr, c)
            multiplyAdd(acc + c, dzr, hr, c)
        }
        for ch in 0..<c {
            beta.grad[ch] += Float(sums[ch])
            gamma.grad[ch] += Float(sums[c + ch])
        }
        guard needsInputGradient else { return dx }
        // train: dx = gamma * invstd * (dz - mean(dz) - xhat * mean(dz * xhat)); eval: dx = gamma * invstd * dz
        var scale = [Float](repeating: 0, count: c), meanDz = scale, meanDzXhat = scale
        for ch in 0..<c {
            scale[ch] = g[ch] * invStd[ch]
            if training {
                meanDz[ch] = Float(sums[ch] / Double(rows))
                meanDzXhat[ch] = Float(sums[c + ch] / Double(rows))
            }
        }
        scale.withUnsafeBufferPointer { sc in
            meanDz.withUnsafeBufferPointer { md in
                meanDzXhat.withUnsafeBufferPointer { mdh in
                    parallelRange(rows, grain: 256) { range in
                        for r in range {
                            let hr = xh.data + r * c, dr = dx.data + r * c
                            for ch in 0..<c { dr[ch] = sc[ch] * (dr[ch] - md[ch] - hr[ch] * mdh[ch]) }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Per-column sums of a (rows, width) quantity produced row by row: `accumulate(r, acc)` adds row r into
/// a float accumulator. Rows are split across cores; float partial sums over blocks of 64 rows are folded
/// into doubles, so long reductions keep float64 accuracy at float32 speed.
func channelSums(_ rows: Int, _ width: Int, _ accumulate: (Int, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
    let workers = min(Threads.count, max(1, rows / 256))
    var partials = [[Double]](repeating: [Double](repeating: 0, count: width), count: workers)
    partials.withUnsafeMutableBufferPointer { partials in
        parallelWorkers(workers) { wk in
            let block = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { block.deallocate() }
            var total = [Double](repeating: 0, count: width)
            var r = chunk(rows, workers, wk).lowerBound
            let end = chunk(rows, workers, wk).upperBound
            while r < end {
                block.update(repeating: 0, count: width)
                let stop = min(r + 64, end)
                for row in r..<stop { accumulate(row, block) }
                for j in 0..<width { total[j] += Double(block[j]) }
                r = stop
            }
            partials[wk] = total
        }
    }
    var sums = [Double](repeating: 0, count: width)
    for p in partials { for j in 0..<width { sums[j] += p[j] } }
    return sums
}

/// dz = dy where gamma * xhat + beta > 0, else 0 (ReLU's backward from the normalised input), 8 lanes at a time.
@inline(__always)
private func reluGate(_ dz: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ xhat: UnsafePointer<Float>,
                      _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    let pz = UnsafeMutableRawPointer(dz), py = UnsafeRawPointer(dy), ph = UnsafeRawPointer(xhat)
    let pg = UnsafeRawPointer(gamma), pb = UnsafeRawPointer(beta)
    while i + 8 <= n {
        let off = i * 4
        let z = ph.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self) * pg.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
            + pb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
        let g = py.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
        pz.storeBytes(of: g.replacing(with: 0, where: z .<= 0), toByteOffset: off, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { dz[i] = xhat[i] * gamma[i] + beta[i] > 0 ? dy[i] : 0; i += 1 }
}

/// acc[i] += (x[i] - mean[i])^2, eight lanes at a time (the variance pass of the forward statistics).
@inline(__always)
private func addSquaredDeviation(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                                 _ mean: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    let pa = UnsafeMutableRawPointer(acc), px = UnsafeRawPointer(x), pm = UnsafeRawPointer(mean)
    while i + 8 <= n {
        let off = i * 4
        let d = px.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
            - pm.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
        pa.storeBytes(of: pa.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self) + d * d,
                      toByteOffset: off, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { let d = x[i] - mean[i]; acc[i] += d * d; i += 1 }
}

/// One row of the forward: xhat = (x - mean) * invStd, y = xhat * gamma + beta (then max(y, 0) for a fused
/// ReLU), eight lanes at a time.
@inline(__always)
private func normalizeRow(_ x: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ invStd: UnsafePointer<Float>,
                          _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
                          _ xhat: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                          relu: Bool) {
    var i = 0
    let px = UnsafeRawPointer(x), pm = UnsafeRawPointer(mean), ps = UnsafeRawPointer(invStd)
    let pg = UnsafeRawPointer(gamma), pb = UnsafeRawPointer(beta)
    let ph = UnsafeMutableRawPointer(xhat), py = UnsafeMutableRawPointer(y)
    while i + 8 <= n {
        let off = i * 4
        let h = (px.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
            - pm.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self))
            * ps.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
        var out = h * pg.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
            + pb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
        if relu { out.replace(with: 0, where: out .< 0) }
        ph.storeBytes(of: h, toByteOffset: off, as: SIMD8<Float>.self)
        py.storeBytes(of: out, toByteOffset: off, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        let h = (x[i] - mean[i]) * invStd[i], out = h * gamma[i] + beta[i]
        xhat[i] = h
        y[i] = relu ? max(out, 0) : out
        i += 1
    }
}
