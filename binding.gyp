{
  # node-gyp build of the same addon as CMakeLists.txt (same sources, same static libsodium,
  # same hidden symbols). Used by prebuildify (linux-x64, linux-arm64) and by `npm run build:native:gyp`;
  # the win32 prebuild is built by CMake with native/toolchains/mingw-w64-x86_64.cmake.
  "targets": [
    {
      "target_name": "narsign",
      "sources": [
        "native/addon.cc", "native/args.cc", "native/errors.cc", "native/ed25519.cc", "native/batch.cc", "native/signer.cc",
        "native/files.cc", "native/compat.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      # -frtti: under node-gyp's default -fno-rtti, std::make_shared needs GLIBCXX_3.4.26 (GCC 9's
      # libstdc++); with RTTI it needs only what GCC 5's has (the prebuilds' floor, GLIBCXX_3.4.21).
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-O2"],
      "cflags": ["-fvisibility=hidden"],
      "libraries": [
        "<!(node native/find-libsodium.js)",
        "-Wl,--exclude-libs,ALL",
        "-Wl,--version-script=<(module_root_dir)/native/exports.map",
        "-Wl,-z,noexecstack"
      ]
    }
  ]
}
