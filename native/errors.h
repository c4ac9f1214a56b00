// Errors thrown from C++ are real instances of the JS `NarsignError` class: lib/backend.ts hands
// the class to the addon at load time (setErrorClass), the way better-sqlite3 hands in SqliteError.
#pragma once
#include <napi.h>
#include <cstdint>
#include <memory>
#include <new>
#include <string>

namespace narsign {

struct ChunkMemoryPool;  // batch.cc

// Per-environment state (worker threads each get their own).
struct AddonData {
  Napi::FunctionReference errorClass;
  // The Signer class (signer.cc), made at init.
  Napi::FunctionReference signerClass;
  // ["publicKey", "signature", "message"], made once: batch.cc takes the three strings out once per
  // call and reads every item with them (napi_get_named_property would make each name again per
  // item). An array, because N-API 8 cannot reference a string directly.
  Napi::ObjectReference itemKeys;
  // The async batches' spare chunk memory, kept between batches (batch.cc). Shared with the jobs,
  // so it lives as long as the last chunk that returns memory to it.
  std::shared_ptr<ChunkMemoryPool> chunkMemory;
};

// Domain error: `new NarsignError(code, message)`, or a plain Error with `code` before init.
[[noreturn]] void ThrowNarsignError(Napi::Env env, const char* code, const char* message);
// The same for one element of a batch: `index` is set on the error so callers can find the item.
[[noreturn]] void ThrowNarsignErrorAt(Napi::Env env, const char* code, const std::string& message,
                                      uint32_t index);
// TypeError carrying a stable `code` too; `message` names the argument.
[[noreturn]] void ThrowTypeError(Napi::Env env, const char* code, const std::string& message);
// RangeError with code ERR_OUT_OF_RANGE: a number or a count past its documented limit.
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

Napi::Value SetErrorClass(const Napi::CallbackInfo& info);

// Wraps an exported function so that running out of memory (std::bad_alloc, e.g. a batch of 2^31
// items) is a NarsignError ERR_OUT_OF_MEMORY instead of std::terminate: node-addon-api converts only
// Napi::Error to JS exceptions. Zero cost when nothing is thrown.
template <Napi::Value (*Function)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return Function(info);
  } catch (const std::bad_alloc&) {
    ThrowNarsignError(info.Env(), "ERR_OUT_OF_MEMORY", "not enough memory for this call (use a smaller batch or chunkSize)");
  }
}

}  // namespace narsign
