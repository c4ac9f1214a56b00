// Thin mirror of libsodium's crypto_sign_*: checks arguments (args.h), calls libsodium, returns.
// Outputs are written straight into the Buffers handed back to JS, so no secret is copied here.
#include "ed25519.h"
#include "args.h"

namespace narsign {

static Napi::Object KeyPairObject(Napi::Env env, Napi::Buffer<uint8_t> publicKey,
                                  Napi::Buffer<uint8_t> secretKey) {
  Napi::Object pair = Napi::Object::New(env);
  pair.Set("publicKey", publicKey);
  pair.Set("secretKey", secretKey);
  return pair;
}

Napi::Value GenerateKeyPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto publicKey = Napi::Buffer<uint8_t>::New(env, crypto_sign_PUBLICKEYBYTES);
  auto secretKey = Napi::Buffer<uint8_t>::New(env, crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(publicKey.Data(), secretKey.Data());
  return KeyPairObject(env, publicKey, secretKey);
}

Napi::Value KeyPairFromSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes seed = SeedArg(info[0]);
  auto publicKey = Napi::Buffer<uint8_t>::New(env, crypto_sign_PUBLICKEYBYTES);
  auto secretKey = Napi::Buffer<uint8_t>::New(env, crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(publicKey.Data(), secretKey.Data(), seed.data);
  return KeyPairObject(env, publicKey, secretKey);
}

Napi::Value PublicKeyFromSecretKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes secretKey = SecretKeyArg(info[0]);
  auto publicKey = Napi::Buffer<uint8_t>::New(env, crypto_sign_PUBLICKEYBYTES);
  // Like Nix (and libsodium), this returns the stored public half; lib/keys.ts checks it against the seed.
  crypto_sign_ed25519_sk_to_pk(publicKey.Data(), secretKey.data);
  return publicKey;
}

Napi::Value SignDetached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes secretKey = SecretKeyArg(info[0]);
  Message message(info[1], "message");
  auto signature = Napi::Buffer<uint8_t>::New(env, crypto_sign_BYTES);
  crypto_sign_detached(signature.Data(), nullptr, message.data(), message.size(), secretKey.data);
  return signature;
}

// signDetachedInto(secretKey, message, output): the same signature written into a caller's 64-byte
// view. lib/backend.ts builds signDetached on it with 64-byte views of a shared slab: creating the
// Buffer here (napi_create_buffer) costs about 1.5 µs, several per cent of a signature.
Napi::Value SignDetachedInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes secretKey = SecretKeyArg(info[0]);
  Message message(info[1], "message");
  Bytes output = ViewArg(info[2], "output");
  if (output.size != crypto_sign_BYTES) {
    ThrowNarsignError(env, "ERR_OUTPUT_SIZE", "output must be 64 bytes");
  }
  // JS memory is writable; ViewArg hands out const pointers only to keep inputs read-only.
  crypto_sign_detached(const_cast<uint8_t*>(output.data), nullptr, message.data(), message.size(), secretKey.data);
  return env.Undefined();
}

Napi::Value VerifyDetached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes publicKey = PublicKeyArg(info[0]);
  Bytes signature = SignatureArg(info[1]);
  Message message(info[2], "message");
  int rc = crypto_sign_verify_detached(signature.data, message.data(), message.size(), publicKey.data);
  return Napi::Boolean::New(env, rc == 0);
}

}  // namespace narsign
