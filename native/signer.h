// Signer: a secret key held in libsodium guarded memory (sodium_malloc: guard pages, mlock'd,
// read-only once written), behind an opaque JS object. createSigner(secretKey) makes one; every
// secretKey argument (args.cc SecretKeyArg, batch.cc) accepts it as well as bytes. dispose() frees
// the memory (sodium_free wipes it); the finalizer does the same for a signer never disposed.
#pragma once
#include <napi.h>
#include <sodium.h>
#include <cstdint>

namespace narsign {

class Signer : public Napi::ObjectWrap<Signer> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Signer(const Napi::CallbackInfo& info);
  ~Signer() override;
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // The 64-byte key in guarded memory, or nullptr once disposed. Valid until JavaScript runs again
  // (JavaScript may call dispose()): callers that run JavaScript afterwards copy it first.
  const uint8_t* key() const { return key_; }

 private:
  Napi::Value PublicKey(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void Free();

  uint8_t* key_ = nullptr;
  uint8_t publicKey_[crypto_sign_PUBLICKEYBYTES] = {0};
};

// createSigner(secretKey: 64 bytes) → a Signer.
Napi::Value CreateSigner(const Napi::CallbackInfo& info);

// The Signer wrapped by `value`, or nullptr when `value` is not one (never throws, runs no JS).
Signer* AsSigner(napi_env env, napi_value value);

}  // namespace narsign
