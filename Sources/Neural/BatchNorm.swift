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
                channelSums(rows, c) { r, acc in
                    let row = x.data + r * c
                    for ch in 0..<c { let d = row[ch] - m[ch]; acc[ch] += d * d }
                }
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
                        let xr = x.data + r * c, hr = xh.data + r * c, yr = y.data + r * c
                        for ch in 0..<c {
                            let h = (xr[ch] - m[ch]) * s[ch]
                            hr[ch] = h
                            yr[ch] = h * g[ch] + b[ch]
                        }
                        if act == .relu {
                            for ch in 0..<c { yr[ch] = max(yr[ch], 0) }
                        } else if act != .identity {
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
            if act == .identity {
                dzr.update(from: dyr, count: c)
            } else if act == .relu {
                for ch in 0..<c { dzr[ch] = hr[ch] * g[ch] + b[ch] > 0 ? dyr[ch] : 0 }
            } else {
                for ch in 0..<c { dzr[ch] = dyr[ch] * act.derivative(hr[ch] * g[ch] + b[ch]) }
            }
            for ch in 0..<c {
                acc[ch] += dzr[ch]
                acc[c + ch] += dzr[ch] * hr[ch]
            }
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
