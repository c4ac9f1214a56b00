// Batch signing and verification: a whole array per crossing (signMany / verifyMany), and the
// chunk jobs behind signManyAsync / verifyManyAsync (lib/batch-native.ts schedules the chunks).
#pragma once
#include <napi.h>

namespace narsign {

// signMany(secretKey, messages, output?) → output, or a new Buffer of messages.length × 64 bytes.
Napi::Value SignMany(const Napi::CallbackInfo& info);
// verifyMany(items) → boolean[]; items are { publicKey, signature, message }.
Napi::Value VerifyMany(const Napi::CallbackInfo& info);
// Registers the SignJob and VerifyJob classes (the async chunk workers) on `exports`.
void InitBatch(Napi::Env env, Napi::Object exports);

}  // namespace narsign
