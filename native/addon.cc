// Module init: libsodium once, constants read from crypto_sign_*, the exported functions.
#include <napi.h>
#include <sodium.h>
#include "batch.h"
#include "ed25519.h"
#include "errors.h"
#if !defined(_WIN32)
#include "files.h"
#endif
#include "signer.h"

namespace narsign {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // sodium_init() is idempotent and thread-safe; <0 means no usable randomness source.
  if (sodium_init() < 0) {
    Napi::Error::New(env, "libsodium could not be initialised").ThrowAsJavaScriptException();
    return exports;
  }
  auto* data = new AddonData();
  env.SetInstanceData(data);
  data->signerClass = Napi::Persistent(Signer::Define(env));
  Napi::Array itemKeys = Napi::Array::New(env, 3);
  const char* itemKeyNames[3] = {"publicKey", "signature", "message"};
  for (uint32_t i = 0; i < 3; i++) itemKeys.Set(i, Napi::String::New(env, itemKeyNames[i]));
  data->itemKeys = Napi::Persistent(static_cast<Napi::Object>(itemKeys));

  exports.Set("SECRETKEYBYTES", Napi::Number::New(env, crypto_sign_SECRETKEYBYTES));
  exports.Set("PUBLICKEYBYTES", Napi::Number::New(env, crypto_sign_PUBLICKEYBYTES));
  exports.Set("SIGNATUREBYTES", Napi::Number::New(env, crypto_sign_BYTES));
  exports.Set("SEEDBYTES", Napi::Number::New(env, crypto_sign_SEEDBYTES));
  exports.Set("libsodiumVersion", Napi::String::New(env, sodium_version_string()));

  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("generateKeyPair", Napi::Function::New(env, GenerateKeyPair, "generateKeyPair"));
  exports.Set("keyPairFromSeed", Napi::Function::New(env, KeyPairFromSeed, "keyPairFromSeed"));
  exports.Set("publicKeyFromSecretKey",
              Napi::Function::New(env, PublicKeyFromSecretKey, "publicKeyFromSecretKey"));
  exports.Set("signDetached", Napi::Function::New(env, SignDetached, "signDetached"));
  exports.Set("signDetachedInto", Napi::Function::New(env, SignDetachedInto, "signDetachedInto"));
  exports.Set("verifyDetached", Napi::Function::New(env, VerifyDetached, "verifyDetached"));
  exports.Set("createSigner", Napi::Function::New(env, CreateSigner, "createSigner"));
  InitBatch(env, exports);
#if !defined(_WIN32)
  // The batched file engine is POSIX (O_NOFOLLOW, directory fsync, syncfs) and not built on
  // Windows: without readFiles/writeFiles, lib/fs-batch.ts reads and writes through node:fs.
  InitFiles(env, exports);
#endif
  return exports;
}

}  // namespace narsign

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return narsign::Init(env, exports);
}

NODE_API_MODULE(narsign, InitModule)
