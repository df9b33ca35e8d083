// swift-tools-version:6.1
//
// galaxy: keeps a PostgreSQL database full of KRX market data.
// Dependency direction (never the other way):
//   executables -> GalaxySupervisor / GalaxyCollectors -> GalaxyKRX / GalaxyPostgres / GalaxyRPC / GalaxySystemd
//   -> GalaxyCore. KRXSimulator stands apart: it must not share parsing code with the client it tests.
import PackageDescription

/// Swift 6 language mode (the tools-version default) already means complete strict concurrency checking;
/// `ExistentialAny` keeps the cost of `any` visible.
let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "galaxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "galaxyd", targets: ["galaxyd"]),
        .executable(name: "galaxyctl", targets: ["galaxyctl"]),
        .executable(name: "galaxy-collector", targets: ["galaxy-collector"]),
        .executable(name: "krx-sim", targets: ["krx-sim"]),
        .executable(name: "galaxy-bench", targets: ["galaxy-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C libraries from Debian (see scripts/install-deps.sh).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShims", dependencies: ["CCurl"]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "CGalaxyProcess"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        // Libraries.
        .target(name: "GalaxyCore", swiftSettings: strict),
        .target(
            name: "GalaxyPostgres",
            dependencies: ["CLibPQ", "GalaxyCore"],
            swiftSettings: strict
        ),
        .target(
            name: "GalaxyKRX",
            dependencies: [
                "CCurl", "CCurlShims", "CDeflate", "GalaxyCore", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "GalaxySystemd",
            dependencies: ["CSystemd", "GalaxyCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "GalaxyRPC",
            dependencies: [
                "GalaxyCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "GalaxyCollectors",
            dependencies: [
                "GalaxyCore", "GalaxyKRX", "GalaxyPostgres", "GalaxySystemd",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "GalaxySupervisor",
            dependencies: [
                "CGalaxyProcess", "GalaxyCore", "GalaxyPostgres", "GalaxyRPC", "GalaxySystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "KRXSimulator",
            dependencies: [
                "CZlib",
                "CDeflate",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),

        // Executables: argument parsing and wiring only.
        .executableTarget(
            name: "galaxyd",
            dependencies: [
                "GalaxySupervisor", "GalaxyCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "galaxyctl",
            dependencies: [
                "GalaxyRPC", "GalaxyCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "galaxy-collector",
            dependencies: [
                "GalaxyCollectors", "GalaxyCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "krx-sim",
            dependencies: ["KRXSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "galaxy-bench",
            dependencies: [
                "GalaxyCore", "GalaxyKRX", "GalaxyPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),

        // Tests: real PostgreSQL (scripts/test.sh starts it), real processes, real sockets.
        .target(
            name: "GalaxyTestSupport",
            dependencies: ["GalaxyCore", "GalaxyPostgres", "GalaxySupervisor"],
            path: "Tests/GalaxyTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "GalaxyCoreTests", dependencies: ["GalaxyCore"], swiftSettings: strict),
        .testTarget(
            name: "GalaxyPostgresTests",
            dependencies: ["GalaxyPostgres", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KRXSimulatorTests",
            dependencies: ["KRXSimulator", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalaxyKRXTests",
            dependencies: [
                "GalaxyKRX", "GalaxyCollectors", "GalaxyPostgres", "KRXSimulator", "GalaxyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalaxyRPCTests",
            dependencies: ["GalaxyRPC", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalaxySystemdTests",
            dependencies: ["GalaxySystemd", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalaxyCollectorsTests",
            dependencies: ["GalaxyCollectors", "KRXSimulator", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalaxySupervisorTests",
            dependencies: ["GalaxySupervisor", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GalaxyCtlTests",
            dependencies: ["GalaxyRPC", "GalaxySupervisor", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FaultSuiteTests",
            dependencies: ["GalaxyRPC", "GalaxySupervisor", "GalaxyPostgres", "GalaxyTestSupport"],
            swiftSettings: strict
        ),
    ]
)
