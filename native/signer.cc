#include "signer.h"
#include "args.h"
#include "errors.h"
#include <cstring>

namespace narsign {

// Tags Signer objects (batch.cc tags its job objects with another value).
static const napi_type_tag kSignerTag = {0x6e61727369676e2dULL, 0x7369676e65726b79ULL};

Napi::Function Signer::Define(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "Signer",
                                           {InstanceAccessor<&Signer::PublicKey>("publicKey"),
                                            InstanceAccessor<&Signer::Disposed>("disposed"),
                                            InstanceMethod<&Signer::Dispose>("dispose")});
  // `using signer = createSigner(...)`: Symbol.dispose is dispose, where the runtime has the symbol.
  Napi::Value disposeSymbol = env.Global().Get("Symbol").As<Napi::Object>().Get("dispose");
  if (disposeSymbol.IsSymbol()) {
    Napi::Object prototype = constructor.Get("prototype").As<Napi::Object>();
    prototype.DefineProperty(Napi::PropertyDescriptor::Value(
        disposeSymbol.As<Napi::Name>(), prototype.Get("dispose"),
        static_cast<napi_property_attributes>(napi_writable | napi_configurable)));
  }
  return constructor;
}

Signer::Signer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Signer>(info) {
  Napi::Env env = info.Env();
  // Only createSigner (or the prototype's constructor) gets here; the key is checked like any other.
  Bytes secretKey = FixedArg(info[0], "secretKey", crypto_sign_SECRETKEYBYTES, "ERR_SECRET_KEY_INVALID",
                             "secret key is not valid");
  key_ = static_cast<uint8_t*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (key_ == nullptr) {
    ThrowNarsignError(env, "ERR_SECURE_MEMORY", "could not allocate secure memory for the secret key");
  }
  napi_type_tag_object(env, info.This(), &kSignerTag);
  std::memcpy(key_, secretKey.data, crypto_sign_SECRETKEYBYTES);
  crypto_sign_ed25519_sk_to_pk(publicKey_, key_);
  // Nothing writes the key again: a stray write now faults instead of corrupting it.
  sodium_mprotect_readonly(key_);
}

Signer::~Signer() { Free(); }

void Signer::Free() {
  if (key_ != nullptr) {
    sodium_free(key_);  // makes the pages writable, wipes them, unlocks and unmaps them
    key_ = nullptr;
  }
}

Napi::Value Signer::PublicKey(const Napi::CallbackInfo& info) {
  return Napi::Buffer<uint8_t>::Copy(info.Env(), publicKey_, sizeof publicKey_);
}

Napi::Value Signer::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), key_ == nullptr);
}

// Idempotent. Async batches copied the key into their own guarded memory when they began, so no
// worker thread reads this memory; sync calls never run JavaScript while they use it.
Napi::Value Signer::Dispose(const Napi::CallbackInfo& info) {
  Free();
  return info.Env().Undefined();
}

Napi::Value CreateSigner(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = env.GetInstanceData<AddonData>();
  return data->signerClass.New({info[0]});
}

Signer* AsSigner(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  if (type != napi_object) return nullptr;
  // A type tag, not instanceof: instanceof walks the prototype chain, which JavaScript can fake
  // (Object.create(Signer.prototype)) and which runs JavaScript for a Proxy (getPrototypeOf trap).
  // Only objects the Signer constructor wrapped carry the tag.
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &kSignerTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* wrapped = nullptr;
  if (napi_unwrap(env, value, &wrapped) != napi_ok || wrapped == nullptr) return nullptr;
  return static_cast<Signer*>(wrapped);
}

}  // namespace narsign
