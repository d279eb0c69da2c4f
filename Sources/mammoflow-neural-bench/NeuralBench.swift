import ArgumentParser
import Foundation
import Neural

/// Benchmark of the neural core: train-step throughput (forward, BCE, backward, AdamW) on random images,
/// printed as one JSON object for bench/bench_neural.py. Its own executable, not a `mammoflow` subcommand,
/// so that the CLI people use does not load OpenBLAS (whose thread pool spins at start-up in every process).
@main
struct NeuralBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mammoflow-neural-bench",
        abstract: "Measure training-step throughput of a built-in architecture (prints JSON)."
    )

    @Option(help: "Architecture: tiny, resnet18, effnetv2-cpu.") var model = "tiny"
    @Option(help: "Image height.") var height = 256
    @Option(help: "Image width.") var width = 256
    @Option(help: "Images per step.") var batch = 16
    @Option(help: "Threads for our loops (OpenBLAS stays single-threaded inside them).") var threads = 2
    @Option(help: "Timed steps (after one warm-up step); the fastest is reported.") var steps = 5
    @Option(help: "Seed for weights and data.") var seed: UInt64 = 0

    func run() throws {
        BLASKernels.useTheBestForThisCPU()
        Threads.configure(threads)
        let rng = Random(seed: seed)
        let net: Network
        switch model {
        case "tiny": net = Models.tinyCNN(rng: rng)
        case "resnet18": net = Models.resnet(.resnet18, rng: rng)
        case "effnetv2-cpu": net = Models.efficientNetV2(.cpu, rng: rng)
        default: throw ValidationError("unknown model \(model): expected tiny, resnet18 or effnetv2-cpu")
        }
        let macs = net.macsPerImage(height: height, width: width, channels: 1)
        let x = Tensor([batch, height, width, 1])
        for i in 0..<x.count { x[i] = rng.normal() }
        let targets = (0..<batch).map { Float($0 % 2) }
        let optimizer = Adam.adamW(net.parameters)
        var best = Double.infinity
        for step in 0...steps {
            let start = DispatchTime.now().uptimeNanoseconds
            optimizer.zeroGrad()
            let (_, grad) = BCEWithLogits()(net.forward(x), targets)
            _ = net.backward(grad)
            optimizer.step()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if step > 0 { best = min(best, seconds) }
        }
        let imagesPerSecond = Double(batch) / best
        // A training step costs about 3x the forward multiply-accumulates, 2 flops each.
        let gflops = 6 * Double(macs) * imagesPerSecond / 1e9
        let result: [String: Any] = [
            "model": model, "height": height, "width": width, "batch": batch, "threads": threads,
            "step_seconds": best, "images_per_second": imagesPerSecond, "gflops": gflops,
            "parameters": net.parameterCount, "macs_per_image": macs,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
