{
  # node-gyp build of the same addon as CMakeLists.txt (same sources, same static libsodium,
  # same hidden symbols). Used by prebuildify and by `npm run build:native:gyp`.
  "targets": [
    {
      "target_name": "narsign",
      "sources": [
        "native/addon.cc", "native/args.cc", "native/errors.cc", "native/ed25519.cc", "native/batch.cc", "native/signer.cc",
        "native/files.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-O2"],
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
