#include "args.h"

namespace narsign {

const uint8_t kEmpty[1] = {0};

Bytes ViewArg(const Napi::Value& value, const char* what) {
  napi_env env = value.Env();
  napi_value raw = value;
  bool isTyped = false, isDataView = false;
  napi_is_typedarray(env, raw, &isTyped);
  if (!isTyped) napi_is_dataview(env, raw, &isDataView);
  if (!isTyped && !isDataView) {
    ThrowTypeError(value.Env(), "ERR_INVALID_ARG_TYPE",
                   std::string(what) + " must be a Uint8Array, Buffer or other ArrayBufferView");
  }
  void* data = nullptr;
  size_t byteLength = 0;
  napi_value arrayBuffer = nullptr;
  if (isTyped) {
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    if (napi_get_typedarray_info(env, raw, &type, &length, &data, &arrayBuffer, &offset) != napi_ok) {
      ThrowTypeError(value.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " could not be read");
    }
    size_t elementSize = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elementSize = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elementSize = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elementSize = 8; break;
      default: elementSize = 1;
    }
    byteLength = length * elementSize;
  } else {
    size_t offset = 0;
    if (napi_get_dataview_info(env, raw, &byteLength, &data, &arrayBuffer, &offset) != napi_ok) {
      ThrowTypeError(value.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " could not be read");
    }
  }
  bool detached = false;
  if (arrayBuffer != nullptr) napi_is_detached_arraybuffer(env, arrayBuffer, &detached);
  if (detached) {
    ThrowTypeError(value.Env(), "ERR_DETACHED_BUFFER",
                   std::string(what) + " is a view over a detached ArrayBuffer");
  }
  if (byteLength == 0 || data == nullptr) return Bytes{kEmpty, 0};
  return Bytes{static_cast<const uint8_t*>(data), byteLength};
}

Bytes FixedArg(const Napi::Value& value, const char* what, size_t expected, const char* code,
               const char* message) {
  Bytes bytes = ViewArg(value, what);
  if (bytes.size != expected) ThrowNarsignError(value.Env(), code, message);
  return bytes;
}

Bytes SecretKeyArg(const Napi::Value& value) {
  return FixedArg(value, "secretKey", crypto_sign_SECRETKEYBYTES, "ERR_SECRET_KEY_INVALID",
                  "secret key is not valid");
}
Bytes PublicKeyArg(const Napi::Value& value) {
  return FixedArg(value, "publicKey", crypto_sign_PUBLICKEYBYTES, "ERR_PUBLIC_KEY_INVALID",
                  "public key is not valid");
}
Bytes SignatureArg(const Napi::Value& value) {
  return FixedArg(value, "signature", crypto_sign_BYTES, "ERR_SIGNATURE_INVALID",
                  "signature is not valid");
}
Bytes SeedArg(const Napi::Value& value) {
  return FixedArg(value, "seed", crypto_sign_SEEDBYTES, "ERR_SEED_INVALID", "seed is not valid");
}

Message::Message(const Napi::Value& value, const char* what) {
  if (!value.IsString()) {
    if (!value.IsTypedArray() && !value.IsDataView()) {
      ThrowTypeError(value.Env(), "ERR_INVALID_ARG_TYPE",
                     std::string(what) + " must be a string or an ArrayBufferView");
    }
    Bytes bytes = ViewArg(value, what);
    data_ = bytes.data;
    size_ = bytes.size;
    return;
  }
  napi_env env = value.Env();
  // A UTF-16 code unit never takes more than 3 bytes of UTF-8, so the (O(1)) UTF-16 length tells
  // whether the string surely fits the stack buffer; only longer strings pay for a length pass.
  size_t units = 0;
  napi_get_value_string_utf16(env, value, nullptr, 0, &units);
  size_t written = 0;
  if (units * 3 < sizeof stack_) {
    napi_get_value_string_utf8(env, value, reinterpret_cast<char*>(stack_), sizeof stack_, &written);
    data_ = written ? stack_ : kEmpty;
    size_ = written;
    return;
  }
  size_t length = 0;
  napi_get_value_string_utf8(env, value, nullptr, 0, &length);
  heap_.resize(length + 1);
  napi_get_value_string_utf8(env, value, reinterpret_cast<char*>(heap_.data()), heap_.size(), &written);
  data_ = heap_.data();
  size_ = written;
}

}  // namespace narsign
