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

// A borrowed view of an argument's bytes. Valid only during the current call on the JS thread.
struct Bytes {
  const uint8_t* data;
  size_t size;
};

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
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t stack_[1024];
  std::vector<uint8_t> heap_;
  const uint8_t* data_;
  size_t size_;
};

// libsodium accepts (NULL, 0) for an empty message, but handing it a real pointer keeps UBSan quiet.
extern const uint8_t kEmpty[1];

}  // namespace narsign
