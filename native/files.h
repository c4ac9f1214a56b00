// Batched file I/O for whole caches, on the libuv pool: reading many small files (a batch of
// narinfos) in one crossing, so the JS thread only parses while the pool reads the next batch and
// checks the previous one's signatures; and replacing a batch of files atomically (write temporary,
// flush, rename) while the JS thread goes on, with one syncfs for the whole batch where it can.
#pragma once
#include <napi.h>

namespace narsign {

// readFiles(paths, callback, noFollow) and writeFiles(dir, targets, contents, modes, durability, callback). See files.cc.
void InitFiles(Napi::Env env, Napi::Object exports);

}  // namespace narsign
