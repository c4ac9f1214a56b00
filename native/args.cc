#include "args.h"
#include "signer.h"

namespace narsign {

const uint8_t kEmpty[1] = {0};

ArgStatus ReadView(napi_env env, napi_value raw, Bytes* out) {
  bool isTyped = false, isDataView = false;
  napi_is_typedarray(env, raw, &isTyped);
  if (!isTyped) napi_is_dataview(env, raw, &isDataView);
  if (!isTyped && !isDataView) return ArgStatus::kNotView;
  void* data = nullptr;
  size_t byteLength = 0;
  if (isTyped) {
    napi_typedarray_type type;
    size_t length = 0;
    if (napi_get_typedarray_info(env, raw, &type, &length, &data, nullptr, nullptr) != napi_ok) {
      return ArgStatus::kUnreadable;
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
    if (napi_get_dataview_info(env, raw, &byteLength, &data, nullptr, nullptr) != napi_ok) {
      return ArgStatus::kUnreadable;
    }
  }
  if (byteLength == 0 || data == nullptr) {
    // A view over a detached ArrayBuffer reads as empty, so only an empty view needs the (dearer)
    // detachment check; a non-empty one cannot be detached (this is the per-call hot path).
    napi_value arrayBuffer = nullptr;
    if (isTyped) {
      napi_typedarray_type type;
      size_t length = 0, offset = 0;
      napi_get_typedarray_info(env, raw, &type, &length, nullptr, &arrayBuffer, &offset);
    } else {
      size_t length = 0, offset = 0;
      napi_get_dataview_info(env, raw, &length, nullptr, &arrayBuffer, &offset);
    }
    bool detached = false;
    if (arrayBuffer != nullptr) napi_is_detached_arraybuffer(env, arrayBuffer, &detached);
    if (detached) return ArgStatus::kDetached;
    *out = Bytes{kEmpty, 0};
    return ArgStatus::kOk;
  }
  *out = Bytes{static_cast<const uint8_t*>(data), byteLength};
  return ArgStatus::kOk;
}

void ThrowArgStatus(Napi::Env env, ArgStatus status, const std::string& what) {
  switch (status) {
    case ArgStatus::kNotView:
      ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", what + " must be a Uint8Array, Buffer or other ArrayBufferView");
    case ArgStatus::kDetached:
      ThrowTypeError(env, "ERR_DETACHED_BUFFER", what + " is a view over a detached ArrayBuffer");
    case ArgStatus::kNotMessage:
      ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", what + " must be a string or an ArrayBufferView");
    case ArgStatus::kUnreadable:
    default:
      ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", what + " could not be read");
  }
}

Bytes ViewArg(const Napi::Value& value, const char* what) {
  Bytes bytes;
  ArgStatus status = ReadView(value.Env(), value, &bytes);
  if (status != ArgStatus::kOk) ThrowArgStatus(value.Env(), status, what);
  return bytes;
}

Bytes FixedArg(const Napi::Value& value, const char* what, size_t expected, const char* code,
               const char* message) {
  Bytes bytes = ViewArg(value, what);
  if (bytes.size != expected) ThrowNarsignError(value.Env(), code, message);
  return bytes;
}

Bytes SecretKeyArg(const Napi::Value& value) {
  // Bytes first: a view can never be a Signer (only the Signer constructor tags objects, and its
  // objects are plain ones), and the type-tag check is a private-symbol lookup that costs more
  // than all the other argument checks of a signature together.
  Bytes bytes;
  ArgStatus status = ReadView(value.Env(), value, &bytes);
  if (status == ArgStatus::kNotView) {
    if (Signer* signer = AsSigner(value.Env(), value)) {
      if (signer->key() == nullptr) {
        ThrowNarsignError(value.Env(), "ERR_SIGNER_DISPOSED", "the signer has been disposed");
      }
      return Bytes{signer->key(), crypto_sign_SECRETKEYBYTES};
    }
  }
  if (status != ArgStatus::kOk) ThrowArgStatus(value.Env(), status, "secretKey");
  if (bytes.size != crypto_sign_SECRETKEYBYTES) {
    ThrowNarsignError(value.Env(), "ERR_SECRET_KEY_INVALID", "secret key is not valid");
  }
  return bytes;
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
  ArgStatus status = Read(value.Env(), value);
  if (status != ArgStatus::kOk) ThrowArgStatus(value.Env(), status, what);
}

ArgStatus Message::Read(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  if (type != napi_string) {
    if (type != napi_object) return ArgStatus::kNotMessage;
    Bytes bytes;
    ArgStatus status = ReadView(env, value, &bytes);
    if (status == ArgStatus::kNotView) return ArgStatus::kNotMessage;
    if (status != ArgStatus::kOk) return status;
    data_ = bytes.data;
    size_ = bytes.size;
    return ArgStatus::kOk;
  }
  // A UTF-16 code unit never takes more than 3 bytes of UTF-8, so the (O(1)) UTF-16 length tells
  // whether the string surely fits the stack buffer; only longer strings pay for a length pass.
  size_t units = 0;
  napi_get_value_string_utf16(env, value, nullptr, 0, &units);
  size_t written = 0;
  if (units * 3 < sizeof stack_) {
    napi_get_value_string_utf8(env, value, reinterpret_cast<char*>(stack_), sizeof stack_, &written);
    data_ = written ? stack_ : kEmpty;
    size_ = written;
    return ArgStatus::kOk;
  }
  size_t length = 0;
  napi_get_value_string_utf8(env, value, nullptr, 0, &length);
  heap_.resize(length + 1);
  napi_get_value_string_utf8(env, value, reinterpret_cast<char*>(heap_.data()), heap_.size(), &written);
  data_ = heap_.data();
  size_ = written;
  return ArgStatus::kOk;
}

}  // namespace narsign
