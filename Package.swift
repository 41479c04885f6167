// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "upres",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "upres", targets: ["upres"]),
        .library(name: "UpresMedia", targets: ["UpresMedia"]),
        .library(name: "UpresKit", targets: ["UpresKit"]),
        .library(name: "UpresProgress", targets: ["UpresProgress"]),
        .library(name: "UpresEngine", targets: ["UpresEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (Debian 12: FFmpeg 5.1, ncursesw 6.4, oneDNN 2.6); `make deps` installs them.
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev",
                                         "libswscale-dev", "libswresample-dev", "libavfilter-dev"])]),
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Shims for C macros and variadics that do not import into Swift, one module per library,
        // so each layer links only its own: FFmpeg (media), oneDNN and OpenMP (engine), curses (dashboard).
        .target(name: "CMediaShims", dependencies: ["CFFmpeg"]),
        .target(name: "CEngineShims", dependencies: ["CDNNL"]),
        .target(name: "CTerminalShims", dependencies: ["CNcurses"]),
        // Media I/O (FFmpeg): demux, decode, scale, encode, mux, and the media decisions a job takes
        // from them (working and measured formats, deinterlacing, source ranges, stream
        // conversions, segment files), so no layer above touches an FFmpeg struct.
        .target(name: "UpresMedia", dependencies: ["CMediaShims", "CFFmpeg"]),
        // Model files embedded in the binary (.incbin of Sources/CUpresModels/models/*.safetensors).
        .target(name: "CUpresModels", exclude: ["models"], cSettings: [.headerSearchPath("models")]),
        // Network runtime: model files, graph IR, reference executor, oneDNN sessions.
        .target(name: "UpresEngine", dependencies: ["CEngineShims", "CDNNL", "CUpresModels"]),
        // What a running job reports (PipelineStats, tile classes): a leaf, so displays need nothing else.
        .target(name: "UpresProgress"),
        // Upscaler stages and the job that runs a file end to end.
        .target(name: "UpresKit", dependencies: ["UpresProgress", "UpresMedia", "UpresEngine"],
                // Members of C structs are only visible where their module is imported: nothing
                // above the media layer can read or write an FFmpeg struct's fields.
                swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]),
        // Progress rendering as pure functions of a PipelineStats snapshot (no terminal needed).
        .target(name: "UpresTerminal", dependencies: ["UpresProgress"]),
        .executableTarget(name: "upres", dependencies: [
            "UpresKit", "UpresMedia", "UpresEngine", "UpresTerminal", "CNcurses", "CTerminalShims",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]),
        .testTarget(name: "UpresMediaTests", dependencies: ["UpresMedia", "UpresKit"]),
        .testTarget(name: "UpresKitTests", dependencies: ["UpresKit", "UpresEngine", "UpresMedia", "CFFmpeg"],
                    exclude: ["Goldens"]),
        .testTarget(name: "UpresCLITests", dependencies: ["UpresMedia"]),
        .testTarget(name: "UpresTerminalTests", dependencies: ["UpresTerminal", "UpresProgress"]),
        .testTarget(name: "UpresEngineTests", dependencies: ["UpresEngine"], exclude: ["Goldens", "NCNNFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
