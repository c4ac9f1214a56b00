#include "errors.h"

namespace narsign {

void ThrowNarsignError(Napi::Env env, const char* code, const char* message) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    Napi::Object error =
        data->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
    throw Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

void ThrowNarsignErrorAt(Napi::Env env, const char* code, const std::string& message, uint32_t index) {
  AddonData* data = env.GetInstanceData<AddonData>();
  Napi::Object error;
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    error = data->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
  } else {
    error = Napi::Error::New(env, message).Value();
    error.Set("code", Napi::String::New(env, code));
  }
  error.Set("index", Napi::Number::New(env, index));
  throw Napi::Error(env, error);
}

void ThrowTypeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  throw error;
}

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "errorClass must be a constructor");
  }
  env.GetInstanceData<AddonData>()->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace narsign
