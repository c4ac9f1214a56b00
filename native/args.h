// Argument checks shared by every exported function.
//
// The rule of the house: validate type, detachment and length of every argument before any
// pointer reaches libsodium. Wrong types become a TypeError with a `code`; wrong lengths become
// the NarsignError class that JS handed us at init (see errors.cc), with Store.xs's own messages.
#pragma once
#include <napi.h>
#include "errors.h"
#include <sodium.h>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace narsign {

// libsodium accepts (NULL, 0) for an empty message, but handing it a real pointer keeps UBSan quiet.
extern const uint8_t kEmpty[1];

// A borrowed view of an argument's bytes. Valid only during the current call on the JS thread.
struct Bytes {
  const uint8_t* data;
  size_t size;
};

// Why a value is not usable bytes, for the non-throwing readers the batch functions use (they name
// the element, e.g. `messages[3]`, only once something is wrong).
enum class ArgStatus { kOk, kNotView, kUnreadable, kDetached, kNotMessage };

// The non-throwing core of ViewArg: never runs JavaScript, so a view read here stays valid until
// JavaScript runs again.
ArgStatus ReadView(napi_env env, napi_value value, Bytes* out);
// The TypeError for a status other than kOk, naming `what` (the messages ViewArg/Message use).
[[noreturn]] void ThrowArgStatus(Napi::Env env, ArgStatus status, const std::string& what);

// Any ArrayBufferView (TypedArray or DataView) that is not detached. `what` names the argument.
Bytes ViewArg(const Napi::Value& value, const char* what);

// A view whose byte length must equal `expected`; otherwise NarsignError(code, message).
Bytes FixedArg(const Napi::Value& value, const char* what, size_t expected, const char* code,
               const char* message);

// The Store.xs length checks, one per kind of key material.
Bytes SecretKeyArg(const Napi::Value& value);
Bytes PublicKeyArg(const Napi::Value& value);
Bytes SignatureArg(const Napi::Value& value);
Bytes SeedArg(const Napi::Value& value);

// A message: a string (encoded as UTF-8 into `scratch`) or an ArrayBufferView.
// Small strings are encoded into `stack` to keep the per-call path free of heap allocations.
class Message {
 public:
  Message(const Napi::Value& value, const char* what);
  Message() : data_(kEmpty), size_(0) {}
  // Non-throwing: reads `value` (string or view) or says why not (kNotMessage for a wrong type).
  // Never runs JavaScript.
  ArgStatus Read(napi_env env, napi_value value);
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t stack_[1024];
  std::vector<uint8_t> heap_;
  const uint8_t* data_;
  size_t size_;
};


}  // namespace narsign
