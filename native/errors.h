// Errors thrown from C++ are real instances of the JS `NarsignError` class: lib/backend.ts hands
// the class to the addon at load time (setErrorClass), the way better-sqlite3 hands in SqliteError.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>

namespace narsign {

// Per-environment state (worker threads each get their own).
struct AddonData {
  Napi::FunctionReference errorClass;
  // The Signer class (signer.cc), made at init.
  Napi::FunctionReference signerClass;
};

// Domain error: `new NarsignError(code, message)`, or a plain Error with `code` before init.
[[noreturn]] void ThrowNarsignError(Napi::Env env, const char* code, const char* message);
// The same for one element of a batch: `index` is set on the error so callers can find the item.
[[noreturn]] void ThrowNarsignErrorAt(Napi::Env env, const char* code, const std::string& message,
                                      uint32_t index);
// TypeError carrying a stable `code` too; `message` names the argument.
[[noreturn]] void ThrowTypeError(Napi::Env env, const char* code, const std::string& message);

Napi::Value SetErrorClass(const Napi::CallbackInfo& info);

}  // namespace narsign
