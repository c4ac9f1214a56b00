#pragma once
#include <napi.h>

namespace narsign {
// One function per libsodium call, each with Store.xs's length checks and nothing else.
Napi::Value GenerateKeyPair(const Napi::CallbackInfo& info);
Napi::Value KeyPairFromSeed(const Napi::CallbackInfo& info);
Napi::Value PublicKeyFromSecretKey(const Napi::CallbackInfo& info);
Napi::Value SignDetached(const Napi::CallbackInfo& info);
Napi::Value SignDetachedInto(const Napi::CallbackInfo& info);
Napi::Value VerifyDetached(const Napi::CallbackInfo& info);
}  // namespace narsign
