// swift-tools-version:6.0
// mammoflow: screening-mammography DICOM archive -> trained and scored classifier, as a cached staged pipeline.
import Foundation
import PackageDescription

/// One thin executable per pipeline stage: the stage `<name>` is `Sources/mammoflow-<name>/main.swift`.
/// Listed, not discovered from the folders: SwiftPM caches evaluated manifests, so a discovered list goes
/// stale when a folder is added.
let stageNames = ["crop", "decode", "downscale", "folds", "ingest", "pectoral", "score", "synth"]
/// Stages that train or run models: they link `Training` (and so OpenBLAS); the others do not load it.
let modelStageNames = ["predict", "train"]

let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

/// Whether the building machine's CPU has AVX2 and FMA, from Linux's /proc/cpuinfo (assumed elsewhere).
func cpuHasAVX2AndFMA() -> Bool {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return true }
    let names = Set(flags.split(whereSeparator: { $0 == " " || $0 == "\t" }))
    return names.contains("avx2") && names.contains("fma")
}

/// Vector loops (eight float lanes) compiled for AVX2 + FMA on x86-64 (x86-64-v3: every x86 server and desktop
/// CPU since about 2015), so a lane group is one register. The portable code is built instead on a CPU
/// without them (binaries that would die of an illegal instruction) or with MAMMOFLOW_PORTABLE=1.
let portable = Context.environment["MAMMOFLOW_PORTABLE"] == "1" || !cpuHasAVX2AndFMA()
#if arch(x86_64)
let vectorised: [SwiftSetting] = portable ? v5 : v5 + [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"]), .define("MAMMOFLOW_FMA")]
#elseif arch(arm64)
let vectorised: [SwiftSetting] = v5 + [.define("MAMMOFLOW_FMA")]
#else
let vectorised = v5
#endif

func systemLibrary(_ name: String, _ pkg: String, _ apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkg, providers: [.apt([apt])])
}

let package = Package(
    name: "mammoflow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mammoflow", targets: ["mammoflow"]),
        // Runs a built stage executable on a job in tests, as the scheduler would (docs/stage-contract.md).
        .library(name: "StageTesting", targets: ["StageTesting"]),
    ]
        + (stageNames + modelStageNames).map { .executable(name: "mammoflow-\($0)", targets: ["mammoflow-\($0)"]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        systemLibrary("CZstd", "libzstd", "libzstd-dev"),
        systemLibrary("COpenJPEG", "libopenjp2", "libopenjp2-7-dev"),
        systemLibrary("CPNG", "libpng", "libpng-dev"),
        systemLibrary("CBLAS", "openblas", "libopenblas-dev"),
        systemLibrary("CZlib", "zlib", "zlib1g-dev"),

        .target(name: "SeededRandom", swiftSettings: v5),
        .target(name: "Shards", dependencies: ["CZstd", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: v5),
        .target(name: "DICOM", dependencies: ["COpenJPEG", "CZstd", "CZlib"], swiftSettings: v5),
        .target(name: "Imaging", dependencies: ["CPNG", "Shards"], swiftSettings: vectorised),
        .target(name: "Neural", dependencies: ["CBLAS", "SeededRandom", "Shards"], swiftSettings: vectorised),
        .target(name: "Validation", dependencies: ["Imaging", "SeededRandom", "Shards"], swiftSettings: v5),
        .target(name: "Synthesis", dependencies: ["DICOM", "Imaging", "SeededRandom", "Shards"], swiftSettings: v5),
        .target(name: "Pipeline", dependencies: ["Shards", "Yams"], swiftSettings: v5),
        .target(name: "Stages", dependencies: ["Shards", "Imaging"], swiftSettings: v5),
        .target(name: "StageTesting", dependencies: ["Shards"], swiftSettings: v5),
        .target(name: "Training", dependencies: ["Neural", "Imaging", "Shards", "Stages", "Validation"], swiftSettings: vectorised),

        .executableTarget(name: "mammoflow", dependencies: [
            "Pipeline", "Shards", "DICOM", "Imaging", "Synthesis", "Validation", "Stages",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),
        .executableTarget(name: "mammoflow-neural-bench", dependencies: [
            "Neural", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),

        .testTarget(name: "SeededRandomTests", dependencies: ["SeededRandom"], swiftSettings: v5),
        .testTarget(name: "ShardsTests", dependencies: ["Shards"], swiftSettings: v5),
        .testTarget(name: "DICOMTests", dependencies: ["DICOM", "Shards"], swiftSettings: v5),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "SeededRandom", "Synthesis", "StageTesting"], swiftSettings: v5),
        .testTarget(name: "NeuralTests", dependencies: ["Neural"], swiftSettings: v5),
        .testTarget(name: "ValidationTests", dependencies: ["Validation", "SeededRandom", "Shards"], swiftSettings: v5),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "DICOM"], swiftSettings: v5),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "StageTesting"], swiftSettings: v5),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "StageTesting"], swiftSettings: v5),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Neural", "Imaging", "Shards"], swiftSettings: v5),
    ] + stageNames.map {
        .executableTarget(name: "mammoflow-\($0)", dependencies: [
            "Stages", "Shards", "DICOM", "Imaging", "Synthesis", "Validation",
        ], swiftSettings: v5)
    } + modelStageNames.map {
        .executableTarget(name: "mammoflow-\($0)", dependencies: [
            "Training", "Neural", "Stages", "Shards", "Imaging", "Validation",
        ], swiftSettings: v5)
    }
)
