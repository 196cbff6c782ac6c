// swift-tools-version: 6.1
// Micro-benchmarks of the record path's CPU work (issue 12), with
// ordo-one/benchmark. A package of its own so that the main package's build,
// tests and CI never compile the benchmark package or its dependencies.
// Uses only the RegistryEvents library (no Kafka, no Delivery).
//
// Run: cd Benchmarks/Micro && swift package --disable-sandbox benchmark
import PackageDescription

let package = Package(
    name: "RegistryEventsMicroBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that the product reference does not depend on the checkout
        // directory's name (a path dependency's identity is its last component).
        .package(name: "RegistryEvents", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RecordPath",
            dependencies: [
                .product(name: "RegistryEvents", package: "RegistryEvents"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RecordPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
