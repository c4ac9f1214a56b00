// Batch signing and verification: whole arrays per crossing, and the chunk workers of the async
// batches (scheduled by lib/batch-native.ts).
//
// Rules on top of args.h's, because reading an array element or an item's property may run
// JavaScript (a getter), and JavaScript may detach any buffer read before:
//  * each element is read, checked and used (or copied) before the next element is read;
//  * the secret key is copied first (stack or sodium_malloc memory, wiped afterwards);
//  * a caller's output buffer is written only after the last element was read, and re-checked then;
//  * the async chunks copy their inputs on the JS thread, compute on the libuv pool into memory they
//    own, and copy results into the output on the JS thread again (re-checked): worker threads never
//    touch memory JavaScript can reach.
#include "batch.h"
#include "args.h"
#include "errors.h"
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

namespace narsign {
namespace {

constexpr size_t kSigBytes = crypto_sign_BYTES;
constexpr size_t kPublicKeyBytes = crypto_sign_PUBLICKEYBYTES;
constexpr size_t kSecretKeyBytes = crypto_sign_SECRETKEYBYTES;
// n × 64 bytes of signatures must fit in one Buffer (4 GiB in Node 20), on every Node version alike.
constexpr uint32_t kMaxBatchSignatures = 1u << 26;
// The most items' room a chunk reserves before it has read them (larger chunks grow as they read).
constexpr size_t kReserveLimit = 65536;

// Turns a failed napi call (e.g. a getter that threw) into the C++ exception node-addon-api expects.
inline void Check(napi_env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);
}

std::string Element(const char* array, uint32_t i) {
  return std::string(array) + "[" + std::to_string(i) + "]";
}
std::string Field(uint32_t i, const char* field) { return Element("items", i) + "." + field; }

// The secret key copied onto the stack, wiped however the scope is left.
struct StackSecretKey {
  uint8_t bytes[kSecretKeyBytes];
  explicit StackSecretKey(const Bytes& secretKey) { std::memcpy(bytes, secretKey.data, sizeof bytes); }
  ~StackSecretKey() { sodium_memzero(bytes, sizeof bytes); }
  StackSecretKey(const StackSecretKey&) = delete;
  StackSecretKey& operator=(const StackSecretKey&) = delete;
};

uint32_t ArrayArg(napi_env env, napi_value value, const char* what) {
  bool isArray = false;
  napi_is_array(env, value, &isArray);
  if (!isArray) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string(what) + " must be an array");
  uint32_t length = 0;
  Check(env, napi_get_array_length(env, value, &length));
  return length;
}

// The caller's output: a view with room for `needed` bytes.
uint8_t* OutputArg(napi_env env, napi_value value, size_t needed) {
  Bytes bytes;
  ArgStatus status = ReadView(env, value, &bytes);
  if (status != ArgStatus::kOk) ThrowArgStatus(env, status, "output");
  if (bytes.size < needed) {
    std::string message = "output is too small (needs " + std::to_string(needed) + " bytes)";
    ThrowNarsignError(env, "ERR_OUTPUT_TOO_SMALL", message.c_str());
  }
  // JS memory is writable; ReadView hands out const pointers only to keep inputs read-only.
  return const_cast<uint8_t*>(bytes.data);
}

// items[i].publicKey / .signature: a view of exactly `expected` bytes (Store.xs's message otherwise,
// naming the item, with `index` set).
const uint8_t* ItemKey(napi_env env, napi_value value, uint32_t i, const char* field, size_t expected,
                       const char* code, const char* message) {
  Bytes bytes;
  ArgStatus status = ReadView(env, value, &bytes);
  if (status != ArgStatus::kOk) ThrowArgStatus(env, status, Field(i, field));
  if (bytes.size != expected) {
    ThrowNarsignErrorAt(env, code, std::string(message) + " (" + Field(i, field) + ")", i);
  }
  return bytes.data;
}

struct ItemValues {
  napi_value publicKey, signature, message;
};

// The property names of an item as JS strings, taken once per call (see AddonData::itemKeys).
struct ItemKeys {
  napi_value publicKey, signature, message;
  explicit ItemKeys(napi_env env) {
    Napi::Object keys = Napi::Env(env).GetInstanceData<AddonData>()->itemKeys.Value();
    Check(env, napi_get_element(env, keys, 0, &publicKey));
    Check(env, napi_get_element(env, keys, 1, &signature));
    Check(env, napi_get_element(env, keys, 2, &message));
  }
};

// All three properties are read (running any getters) before any of them is checked or used.
ItemValues ReadItem(napi_env env, const ItemKeys& keys, napi_value items, uint32_t i) {
  napi_value item;
  Check(env, napi_get_element(env, items, i, &item));
  napi_valuetype type = napi_undefined;
  napi_typeof(env, item, &type);
  if (type != napi_object) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE",
                   Element("items", i) + " must be an object with publicKey, signature and message");
  }
  ItemValues values;
  Check(env, napi_get_property(env, item, keys.publicKey, &values.publicKey));
  Check(env, napi_get_property(env, item, keys.signature, &values.signature));
  Check(env, napi_get_property(env, item, keys.message, &values.message));
  return values;
}

const uint8_t* ItemPublicKey(napi_env env, napi_value value, uint32_t i) {
  return ItemKey(env, value, i, "publicKey", kPublicKeyBytes, "ERR_PUBLIC_KEY_INVALID", "public key is not valid");
}
const uint8_t* ItemSignature(napi_env env, napi_value value, uint32_t i) {
  return ItemKey(env, value, i, "signature", kSigBytes, "ERR_SIGNATURE_INVALID", "signature is not valid");
}

// Copies of one chunk's messages, back to back, in memory the chunk owns.
class MessageArena {
 public:
  MessageArena() = default;
  MessageArena(const MessageArena&) = delete;
  MessageArena& operator=(const MessageArena&) = delete;
  ~MessageArena() { std::free(data_); }

  // Empties the arena for `count` more messages, keeping its memory (chunks reuse arenas).
  void Reset(size_t count) {
    size_ = 0;
    ends_.clear();
    ends_.reserve(count < kReserveLimit ? count : kReserveLimit);
    expected_ = count;
  }

  // Copies the message `value` (string as UTF-8, or a view's bytes) or says why it is not one.
  ArgStatus Append(napi_env env, napi_value value) {
    napi_valuetype type = napi_undefined;
    napi_typeof(env, value, &type);
    if (type == napi_string) {
      // At most 3 UTF-8 bytes per UTF-16 unit: one encoding pass, no length pass.
      size_t units = 0;
      napi_get_value_string_utf16(env, value, nullptr, 0, &units);
      uint8_t* to = Grow(env, units * 3 + 1);
      size_t written = 0;
      napi_get_value_string_utf8(env, value, reinterpret_cast<char*>(to), units * 3 + 1, &written);
      size_ += written;
    } else {
      if (type != napi_object) return ArgStatus::kNotMessage;
      Bytes bytes;
      ArgStatus status = ReadView(env, value, &bytes);
      if (status == ArgStatus::kNotView) return ArgStatus::kNotMessage;
      if (status != ArgStatus::kOk) return status;
      uint8_t* to = Grow(env, bytes.size);
      if (bytes.size) std::memcpy(to, bytes.data, bytes.size);
      size_ += bytes.size;
    }
    ends_.push_back(size_);
    return ArgStatus::kOk;
  }

  size_t count() const { return ends_.size(); }
  // Heap bytes held (what a pooled arena costs while it waits).
  size_t capacity() const { return cap_ + ends_.capacity() * sizeof(size_t); }
  const uint8_t* data(size_t i) const {
    size_t begin = i ? ends_[i - 1] : 0;
    return data_ && ends_[i] > begin ? data_ + begin : kEmpty;
  }
  size_t size(size_t i) const { return ends_[i] - (i ? ends_[i - 1] : 0); }

 private:
  // Room for `extra` more bytes at data_ + size_. Grows to what the messages so far predict for
  // the whole chunk (usually one allocation per arena, and none once arenas are reused).
  uint8_t* Grow(napi_env env, size_t extra) {
    if (cap_ - size_ < extra) {
      size_t seen = ends_.size() + 1;
      size_t predicted = expected_ > seen ? (size_ + extra) / seen * expected_ + (size_ + extra) / 8 : 0;
      size_t want = cap_ ? cap_ * 2 : 4096;
      if (want < predicted) want = predicted;
      if (want < size_ + extra) want = size_ + extra;
      void* grown = std::realloc(data_, want);
      if (grown == nullptr) throw std::bad_alloc();  // Guarded<…>: ERR_OUT_OF_MEMORY
      data_ = static_cast<uint8_t*>(grown);
      cap_ = want;
    }
    return data_ + size_;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0, cap_ = 0, expected_ = 0;
  std::vector<size_t> ends_;
};

// The memory one chunk works in: copied inputs and results. Returned to the pool when the chunk is
// done and handed to the next chunk, in this batch or a later one, so batches do not malloc/free (or
// mmap/munmap) per chunk: a chunk of 512 4 KiB messages is 2 MiB, and faulting in fresh pages cost
// 15 µs per 4 KiB page on the 2-core VM we measure on. When each batch started with fresh memory,
// signManyAsync of 4 KiB messages took 0.1 page faults per signature and ran 9 % slower. Only the
// JS thread takes and returns them.
struct ChunkMemory {
  MessageArena messages;
  std::vector<uint8_t> keys;     // verify: public key ‖ signature per item
  std::vector<uint8_t> results;  // signatures, or one verdict byte per item

  size_t capacity() const { return messages.capacity() + keys.capacity() + results.capacity(); }
};

}  // namespace

// Spare chunk memory of one environment (AddonData::chunkMemory), JS thread only. Bounded in count
// and bytes, so an idle process keeps at most kMaxBytes after its biggest batch.
struct ChunkMemoryPool {
  static constexpr size_t kMaxMemories = 64;
  static constexpr size_t kMaxBytes = size_t{32} << 20;

  std::unique_ptr<ChunkMemory> Take() {
    if (spare.empty()) return std::make_unique<ChunkMemory>();
    std::unique_ptr<ChunkMemory> memory = std::move(spare.back());
    spare.pop_back();
    bytes -= memory->capacity();
    return memory;
  }
  void Return(std::unique_ptr<ChunkMemory> memory) {
    if (!memory) return;
    size_t held = memory->capacity();
    if (spare.size() < kMaxMemories && bytes + held <= kMaxBytes) {
      bytes += held;
      spare.push_back(std::move(memory));
    }
  }

  std::vector<std::unique_ptr<ChunkMemory>> spare;
  size_t bytes = 0;  // sum of spare[i]->capacity()
};

namespace {

// ---- async jobs ---------------------------------------------------------------------------------

// State shared by one batch's chunks: the secret key (sign jobs) in sodium_malloc memory, wiped and
// freed with the last chunk, the cancel flag the workers check before every item, and the
// environment's pool of chunk memory.
struct JobState {
  uint8_t* key = nullptr;
  std::atomic<bool> cancelled{false};
  std::shared_ptr<ChunkMemoryPool> pool;

  JobState() = default;
  JobState(const JobState&) = delete;
  JobState& operator=(const JobState&) = delete;
  ~JobState() {
    if (key != nullptr) {
      sodium_memzero(key, kSecretKeyBytes);
      sodium_free(key);
    }
  }
};

// What the JS job object wraps. close() drops the state; chunks in flight keep their own reference.
struct JobHolder {
  std::shared_ptr<JobState> state;
};

// Tags the job objects so no other object (or another addon's wrapped object) is ever unwrapped.
const napi_type_tag kJobTag = {0x6e61727369676e2dULL, 0x62617463686a6f62ULL};

JobHolder* UnwrapJob(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  bool tagged = false;
  if (type == napi_object) napi_check_object_type_tag(env, value, &kJobTag, &tagged);
  if (!tagged) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "job must be a narsign batch job");
  void* holder = nullptr;
  Check(env, napi_unwrap(env, value, &holder));
  return static_cast<JobHolder*>(holder);
}

std::shared_ptr<JobState> OpenJobState(napi_env env, napi_value value) {
  JobHolder* holder = UnwrapJob(env, value);
  if (!holder->state) ThrowTypeError(env, "ERR_INVALID_STATE", "the batch job is closed");
  return holder->state;
}

// batchJob(secretKey?) → a job object: the secret key copied into sodium_malloc memory (sign jobs).
Napi::Value BatchJob(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  auto state = std::make_shared<JobState>();
  AddonData* data = Napi::Env(env).GetInstanceData<AddonData>();
  if (!data->chunkMemory) data->chunkMemory = std::make_shared<ChunkMemoryPool>();
  state->pool = data->chunkMemory;
  if (!info[0].IsUndefined()) {
    Bytes secretKey = SecretKeyArg(info[0]);
    state->key = static_cast<uint8_t*>(sodium_malloc(kSecretKeyBytes));
    if (state->key == nullptr) {
      ThrowNarsignError(env, "ERR_SECURE_MEMORY", "could not allocate secure memory for the secret key");
    }
    std::memcpy(state->key, secretKey.data, kSecretKeyBytes);
  }
  napi_value job;
  Check(env, napi_create_object(env, &job));
  auto* holder = new JobHolder{state};
  napi_status status = napi_wrap(
      env, job, holder, [](napi_env, void* data, void*) { delete static_cast<JobHolder*>(data); }, nullptr,
      nullptr);
  if (status != napi_ok) {
    delete holder;
    Check(env, status);
  }
  Check(env, napi_type_tag_object(env, job, &kJobTag));
  return Napi::Value(env, job);
}

// batchCancel(job): chunks still queued or running stop before their next item.
Napi::Value BatchCancel(const Napi::CallbackInfo& info) {
  JobHolder* holder = UnwrapJob(info.Env(), info[0]);
  if (holder->state) holder->state->cancelled.store(true);
  return info.Env().Undefined();
}

// batchClose(job): drops the job's hold on its state (the key is wiped once no chunk needs it).
Napi::Value BatchClose(const Napi::CallbackInfo& info) {
  JobHolder* holder = UnwrapJob(info.Env(), info[0]);
  holder->state.reset();
  return info.Env().Undefined();
}

// start/end of a chunk: integers with start <= end < 2^32. Elements past the array's current end
// read as undefined (and fail as such), exactly as they do in the fallback.
void RangeArgs(napi_env env, const Napi::CallbackInfo& info, uint32_t length, uint32_t* start, uint32_t* end) {
  auto index = [&](size_t arg, const char* what) -> uint32_t {
    if (!info[arg].IsNumber()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a number");
    double value = info[arg].As<Napi::Number>().DoubleValue();
    if (!(value >= 0 && value <= 4294967295.0) || value != static_cast<double>(static_cast<uint32_t>(value))) {
      ThrowRangeError(env, std::string(what) + " is out of range");
    }
    return static_cast<uint32_t>(value);
  };
  *start = index(2, "start");
  *end = index(3, "end");
  // A chunk is never longer than the array was when the batch began (lib/batch-native.ts); this
  // bound only keeps a direct caller from asking for absurd amounts of memory.
  if (*start > *end || (*end - *start > length && *end - *start > 65536)) {
    ThrowRangeError(env, "start/end do not describe a chunk of the array");
  }
}

Napi::Function CallbackArg(napi_env env, const Napi::Value& value) {
  if (!value.IsFunction()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
  return value.As<Napi::Function>();
}

// One chunk on the libuv pool. The callback gets (error) or (null, done): done is false when the
// job was cancelled before the chunk finished (nothing was written to the output then).
class Chunk : public Napi::AsyncWorker {
 public:
  ~Chunk() override { state_->pool->Return(std::move(memory_)); }

 protected:
  Chunk(Napi::Function callback, const char* name, std::shared_ptr<JobState> state,
        std::unique_ptr<ChunkMemory> memory, Napi::Object output, uint32_t start, size_t resultBytes)
      : Napi::AsyncWorker(callback, name),
        state_(std::move(state)),
        memory_(std::move(memory)),
        output_(Napi::Persistent(output)),
        start_(start),
        count_(static_cast<uint32_t>(memory_->messages.count())),
        resultBytes_(resultBytes) {}

  void OnOK() override {
    Napi::Env env = Env();
    if (cancelled_) {
      Callback().Call({env.Null(), Napi::Boolean::New(env, false)});
      return;
    }
    // The output is checked again: JavaScript ran since the chunk was queued, and may have detached it.
    Napi::Value error;
    try {
      size_t end = (static_cast<size_t>(start_) + count_) * resultBytes_;
      uint8_t* output = OutputArg(env, output_.Value(), end);
      std::memcpy(output + static_cast<size_t>(start_) * resultBytes_, memory_->results.data(),
                  static_cast<size_t>(count_) * resultBytes_);
    } catch (const Napi::Error& e) {
      error = e.Value();
    }
    if (!error.IsEmpty()) {
      Callback().Call({error});
      return;
    }
    Callback().Call({env.Null(), Napi::Boolean::New(env, true)});
  }

  // On the pool thread, before each item.
  bool Cancelled() {
    if (state_->cancelled.load(std::memory_order_relaxed)) cancelled_ = true;
    return cancelled_;
  }

  std::shared_ptr<JobState> state_;
  std::unique_ptr<ChunkMemory> memory_;
  Napi::ObjectReference output_;
  uint32_t start_, count_;
  size_t resultBytes_;
  bool cancelled_ = false;
};

class SignChunk final : public Chunk {
 public:
  SignChunk(Napi::Function callback, std::shared_ptr<JobState> state, std::unique_ptr<ChunkMemory> memory,
            Napi::Object output, uint32_t start)
      : Chunk(callback, "narsign:signManyAsync", std::move(state), std::move(memory), output, start, kSigBytes) {}

 private:
  void Execute() override {
    const MessageArena& messages = memory_->messages;
    uint8_t* signatures = memory_->results.data();
    for (uint32_t i = 0; i < count_; i++) {
      if (Cancelled()) return;
      crypto_sign_detached(signatures + static_cast<size_t>(i) * kSigBytes, nullptr, messages.data(i),
                           messages.size(i), state_->key);
    }
  }
};

constexpr size_t kVerifyRecord = kPublicKeyBytes + kSigBytes;

class VerifyChunk final : public Chunk {
 public:
  VerifyChunk(Napi::Function callback, std::shared_ptr<JobState> state, std::unique_ptr<ChunkMemory> memory,
              Napi::Object output, uint32_t start)
      : Chunk(callback, "narsign:verifyManyAsync", std::move(state), std::move(memory), output, start, 1) {}

 private:
  void Execute() override {
    const MessageArena& messages = memory_->messages;
    const uint8_t* records = memory_->keys.data();
    uint8_t* verdicts = memory_->results.data();
    for (uint32_t i = 0; i < count_; i++) {
      if (Cancelled()) return;
      const uint8_t* record = records + static_cast<size_t>(i) * kVerifyRecord;
      verdicts[i] = crypto_sign_verify_detached(record + kPublicKeyBytes, messages.data(i), messages.size(i),
                                                record) == 0;
    }
  }
};

// The output must be a view now; its size is checked when results are written.
Napi::Object ChunkOutputArg(napi_env env, const Napi::Value& value) {
  Bytes bytes;
  ArgStatus status = ReadView(env, value, &bytes);
  if (status != ArgStatus::kOk) ThrowArgStatus(env, status, "output");
  return value.As<Napi::Object>();
}

// Room for n results of `unit` bytes (vector::resize only zero-fills growth, once per reused buffer).
void SizeResults(ChunkMemory& memory, size_t n, size_t unit) {
  if (memory.results.size() < n * unit + 1) memory.results.resize(n * unit + 1);
}

// The arguments batchSign and batchVerify share — (job, array, start, end, output, callback) —
// checked in that order (a sign job must hold a key, checked right after the job).
struct ChunkCall {
  std::shared_ptr<JobState> state;
  uint32_t start = 0, end = 0;
  Napi::Object output;
  Napi::Function callback;

  ChunkCall(const Napi::CallbackInfo& info, const char* array, bool needsKey) {
    napi_env env = info.Env();
    state = OpenJobState(env, info[0]);
    if (needsKey && state->key == nullptr) ThrowTypeError(env, "ERR_INVALID_STATE", "this batch job has no secret key");
    uint32_t length = ArrayArg(env, info[1], array);
    RangeArgs(env, info, length, &start, &end);
    output = ChunkOutputArg(env, info[4]);
    callback = CallbackArg(env, info[5]);
  }
};

// batchSign(job, messages, start, end, output, callback): copies messages[start..end) now, signs
// them on the pool, writes the signatures to output[start*64 ..] and calls back.
Napi::Value BatchSign(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  ChunkCall call(info, "messages", true);
  std::shared_ptr<JobState>& state = call.state;
  uint32_t start = call.start, end = call.end;

  std::unique_ptr<ChunkMemory> memory = state->pool->Take();
  MessageArena& messages = memory->messages;
  messages.Reset(end - start);
  for (uint32_t i = start; i < end; i++) {
    Napi::HandleScope scope(info.Env());
    napi_value value;
    Check(env, napi_get_element(env, info[1], i, &value));
    ArgStatus status = messages.Append(env, value);
    if (status != ArgStatus::kOk) {
      state->pool->Return(std::move(memory));
      ThrowArgStatus(env, status, Element("messages", i));
    }
  }
  SizeResults(*memory, end - start, kSigBytes);
  (new SignChunk(call.callback, state, std::move(memory), call.output, start))->Queue();
  return info.Env().Undefined();
}

// batchVerify(job, items, start, end, output, callback): copies items[start..end) now, verifies
// them on the pool, writes 1/0 verdicts to output[start ..] and calls back.
Napi::Value BatchVerify(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  ChunkCall call(info, "items", false);
  std::shared_ptr<JobState>& state = call.state;
  uint32_t start = call.start, end = call.end;

  std::unique_ptr<ChunkMemory> memory = state->pool->Take();
  size_t n = end - start;
  // Grown as items arrive (up to kReserveLimit at once): a chunk of 2^31 holes fails on its first
  // item, not on reserving 2^31 × 96 bytes.
  auto recordAt = [&](size_t k) {
    if (memory->keys.size() < (k + 1) * kVerifyRecord) {
      size_t room = k + (n - k < kReserveLimit ? n - k : kReserveLimit);
      memory->keys.resize(room * kVerifyRecord);
    }
    return memory->keys.data() + k * kVerifyRecord;
  };
  MessageArena& messages = memory->messages;
  messages.Reset(n);
  ItemKeys keys(env);
  try {
    for (uint32_t i = start; i < end; i++) {
      Napi::HandleScope scope(info.Env());
      ItemValues values = ReadItem(env, keys, info[1], i);
      const uint8_t* publicKey = ItemPublicKey(env, values.publicKey, i);
      const uint8_t* signature = ItemSignature(env, values.signature, i);
      uint8_t* record = recordAt(i - start);
      std::memcpy(record, publicKey, kPublicKeyBytes);
      std::memcpy(record + kPublicKeyBytes, signature, kSigBytes);
      ArgStatus status = messages.Append(env, values.message);
      if (status != ArgStatus::kOk) ThrowArgStatus(env, status, Field(i, "message"));
    }
  } catch (...) {
    state->pool->Return(std::move(memory));
    throw;
  }
  SizeResults(*memory, n, 1);
  (new VerifyChunk(call.callback, state, std::move(memory), call.output, start))->Queue();
  return info.Env().Undefined();
}

}  // namespace

Napi::Value SignMany(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  StackSecretKey secretKey(SecretKeyArg(info[0]));
  napi_value messages = info[1];
  uint32_t n = ArrayArg(env, messages, "messages");
  // The same limit and words as lib/batch-shared.ts's signCountArg (the fallback's).
  if (n > kMaxBatchSignatures) {
    ThrowRangeError(env, "messages has " + std::to_string(n) + " elements; a batch signs at most " +
                             std::to_string(kMaxBatchSignatures));
  }
  size_t total = static_cast<size_t>(n) * kSigBytes;
  bool hasOutput = !info[2].IsUndefined();
  if (hasOutput) OutputArg(env, info[2], total);

  Message message;
  auto signAt = [&](uint32_t i, uint8_t* signature) {
    Napi::HandleScope scope(info.Env());
    napi_value value;
    Check(env, napi_get_element(env, messages, i, &value));
    ArgStatus status = message.Read(env, value);
    if (status != ArgStatus::kOk) ThrowArgStatus(env, status, Element("messages", i));
    crypto_sign_detached(signature, nullptr, message.data(), message.size(), secretKey.bytes);
  };
  // Element 0 is read and signed before n × 64 bytes are allocated: an array that is all holes
  // (new Array(2 ** 26)) fails on messages[0] without first costing 4 GiB.
  uint8_t first[kSigBytes];
  if (n > 0) signAt(0, first);

  // Into a Buffer nobody else can see yet, or (with a caller's output) into scratch memory first.
  Napi::Buffer<uint8_t> fresh;
  std::unique_ptr<uint8_t[]> scratch;
  uint8_t* signatures;
  if (hasOutput) {
    scratch.reset(new (std::nothrow) uint8_t[total + 1]);
    if (!scratch) throw std::bad_alloc();
    signatures = scratch.get();
  } else {
    fresh = Napi::Buffer<uint8_t>::New(env, total);
    signatures = fresh.Data();
  }
  if (n > 0) std::memcpy(signatures, first, kSigBytes);
  for (uint32_t i = 1; i < n; i++) signAt(i, signatures + static_cast<size_t>(i) * kSigBytes);
  if (!hasOutput) return fresh;
  std::memcpy(OutputArg(env, info[2], total), signatures, total);
  return info[2];
}

Napi::Value VerifyMany(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  napi_value items = info[0];
  uint32_t n = ArrayArg(env, items, "items");
  napi_value result, yes, no;
  Check(env, napi_create_array_with_length(env, n, &result));
  Check(env, napi_get_boolean(env, true, &yes));
  Check(env, napi_get_boolean(env, false, &no));
  ItemKeys keys(env);
  Message message;
  for (uint32_t i = 0; i < n; i++) {
    Napi::HandleScope scope(info.Env());
    ItemValues values = ReadItem(env, keys, items, i);
    const uint8_t* publicKey = ItemPublicKey(env, values.publicKey, i);
    const uint8_t* signature = ItemSignature(env, values.signature, i);
    ArgStatus status = message.Read(env, values.message);
    if (status != ArgStatus::kOk) ThrowArgStatus(env, status, Field(i, "message"));
    bool valid = crypto_sign_verify_detached(signature, message.data(), message.size(), publicKey) == 0;
    Check(env, napi_set_element(env, result, i, valid ? yes : no));
  }
  return Napi::Value(env, result);
}

void InitBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("signMany", Napi::Function::New(env, Guarded<SignMany>, "signMany"));
  exports.Set("verifyMany", Napi::Function::New(env, Guarded<VerifyMany>, "verifyMany"));
  exports.Set("batchJob", Napi::Function::New(env, Guarded<BatchJob>, "batchJob"));
  exports.Set("batchSign", Napi::Function::New(env, Guarded<BatchSign>, "batchSign"));
  exports.Set("batchVerify", Napi::Function::New(env, Guarded<BatchVerify>, "batchVerify"));
  exports.Set("batchCancel", Napi::Function::New(env, Guarded<BatchCancel>, "batchCancel"));
  exports.Set("batchClose", Napi::Function::New(env, Guarded<BatchClose>, "batchClose"));
}

}  // namespace narsign
