// Batched file I/O for whole caches: readFiles and writeFiles (lib/fs-batch.ts).
//
// readFiles(paths: string[], callback, noFollow?: boolean) reads whole small files on the libuv pool
// (noFollow: a path whose last component is a symlink fails open with ELOOP, as O_NOFOLLOW does).
//
// One AsyncWorker per call: the paths are copied on the JS thread, the pool thread opens, fstats,
// reads and closes each file into one growing buffer, and the callback gets
//   { data: Buffer, records: Int32Array }  with 4 int32 per path:
//   [start, length, errno, modeOrSyscall]
// - read:     length >= 0, errno 0, the file's mode bits (st_mode & 07777), bytes data[start, start+length);
// - failed:   length -1, errno > 0, the syscall that failed (0 open, 1 fstat, 2 read);
// - not read: length -1, errno 0: not a regular file, larger than kFileLimit, past kBatchLimit, or a
//   path with a NUL byte. The caller reads those itself, so their errors are exactly the usual ones.
// Errors of the call itself (wrong argument types) throw on the JS thread; per-file problems never do.
#include "files.h"
#include "errors.h"
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace narsign {
namespace {

// A file larger than this is left to the caller (narsign refuses narinfos over 4 MiB anyway).
constexpr size_t kFileLimit = 4 * 1024 * 1024;
// One call reads at most this much in all (a batch of real narinfos is a few MiB); the rest is left.
constexpr size_t kBatchLimit = 64 * 1024 * 1024;
constexpr int kFields = 4;
// Files per call (a cache batch is 1024): more is a caller's mistake, refused before any allocation.
constexpr uint32_t kMaxFiles = 1u << 20;
enum Syscall { kOpen = 0, kFstat = 1, kRead = 2 };

class ReadFilesWorker final : public Napi::AsyncWorker {
 public:
  ReadFilesWorker(Napi::Function callback, std::vector<std::string> paths, bool no_follow)
      : Napi::AsyncWorker(callback, "narsign:readFiles"),
        paths_(std::move(paths)),
        open_flags_(O_RDONLY | O_CLOEXEC | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0)),
        records_(paths_.size() * kFields, 0) {}

 private:
  void Execute() override {
    size_t i = 0;
    try {
      data_.reserve(paths_.size() * 4096 < kBatchLimit ? paths_.size() * 4096 : kBatchLimit);
      for (; i < paths_.size(); i++) ReadOne(paths_[i], &records_[i * kFields]);
    } catch (const std::bad_alloc&) {
      // No exception may leave a pool thread: out of memory, the files from i on are "not read"
      // (the caller reads them itself, one at a time).
      if (i < paths_.size()) data_.resize(static_cast<size_t>(records_[i * kFields]));
      for (; i < paths_.size(); i++) {
        records_[i * kFields + 1] = -1;
        records_[i * kFields + 2] = 0;
      }
    }
  }

  void ReadOne(const std::string& path, int32_t* record) {
    record[0] = static_cast<int32_t>(data_.size());
    record[1] = -1;
    if (path.find('\0') != std::string::npos || data_.size() >= kBatchLimit) return;
    // O_NONBLOCK: opening a FIFO named like a narinfo must not hang (it is then "not read").
    int fd = open(path.c_str(), open_flags_);
    if (fd < 0) return Failed(record, kOpen, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      Failed(record, kFstat, errno);
    } else if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= kFileLimit &&
               data_.size() + static_cast<size_t>(st.st_size) <= kBatchLimit) {
      ReadAll(fd, static_cast<size_t>(st.st_size), record);
      if (record[1] >= 0) record[3] = static_cast<int32_t>(st.st_mode & 07777);
    }
    close(fd);
  }

  // Reads to the end of the file (it may have grown since fstat), up to kFileLimit.
  void ReadAll(int fd, size_t expected, int32_t* record) {
    size_t start = data_.size();
    size_t want = expected + 1;  // one byte more shows whether the file ended where fstat said
    for (;;) {
      if (data_.size() - start > kFileLimit) {
        data_.resize(start);  // grew past the limit: the caller reads it (and refuses it) itself
        return;
      }
      data_.resize(data_.size() + want);
      ssize_t n = read(fd, data_.data() + data_.size() - want, want);
      if (n < 0 && errno == EINTR) {
        data_.resize(data_.size() - want);
        continue;
      }
      if (n < 0) {
        int error = errno;
        data_.resize(start);
        return Failed(record, kRead, error);
      }
      data_.resize(data_.size() - want + static_cast<size_t>(n));
      if (n == 0) break;
      want = 4096;
    }
    record[1] = static_cast<int32_t>(data_.size() - start);
  }

  void Failed(int32_t* record, Syscall syscall, int error) {
    record[1] = -1;
    record[2] = error;
    record[3] = syscall;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("data", Napi::Buffer<uint8_t>::Copy(env, data_.data(), data_.size()));
    Napi::ArrayBuffer records = Napi::ArrayBuffer::New(env, records_.size() * sizeof(int32_t));
    if (!records_.empty()) std::memcpy(records.Data(), records_.data(), records_.size() * sizeof(int32_t));
    result.Set("records", Napi::TypedArrayOf<int32_t>::New(env, records_.size(), records, 0));
    Callback().Call({env.Null(), result});
  }

  std::vector<std::string> paths_;
  int open_flags_;
  std::vector<int32_t> records_;
  std::vector<uint8_t> data_;
};

// writeFiles(dir, targets, contents, modes, durability, callback) replaces a batch of files
// atomically, on the pool: each content is written to a temporary file this call creates next to
// its target, made durable (durability 1: fsync each file; 2: one syncfs for the batch; 0: not), and
// renamed over its target; then the directory is fsynced (durability 1 or 2). A temporary file that
// failed any step is removed and its target left alone; with syncfs, a failed flush fails the whole
// batch.
//
// The temporary files are made so that nothing a co-tenant of the directory planted can be written
// through or renamed into place: each is `.<target name>.narsign-<pid>-<16 random hex>.tmp` (the
// pid lets a later run remove the leftovers of a dead one; the random part makes the name
// unguessable), created with O_CREAT|O_EXCL|O_NOFOLLOW (a planted symlink or hard link at the name
// fails the open instead of being truncated), mode 0600 until it is written and then fchmod'ed to
// the mode given (masked to 0777: never setuid, never broader than the original), and it is renamed
// or removed only while the name still holds the very inode this call created (lstat against the
// open file's fstat): a temporary swapped for something else is left alone and its target untouched.
// callback(null, records): 2 int32 per file, [errno, syscall] (0, 0 when replaced; syscalls: 0 open,
// 1 write, 2 fsync, 3 close, 4 rename, 5 syncfs; the directory's fsync failing is reported on every
// replaced file as syscall 6; a temporary file swapped by someone else is EEXIST at rename).
enum WriteSyscall { kWOpen = 0, kWWrite = 1, kWFsync = 2, kWClose = 3, kWRename = 4, kWSyncfs = 5, kWDirFsync = 6 };

// Attempts at a fresh random name before giving up (a collision means someone lists and plants).
constexpr int kTempAttempts = 8;

struct FileToWrite {
  std::string target, content, temp;
  int mode;
  dev_t dev = 0;
  ino_t ino = 0;
};

// `.<name>.narsign-<pid>-<random>.tmp` next to `target`.
std::string TempNameFor(const std::string& target) {
  size_t slash = target.rfind('/');
  std::string dir = slash == std::string::npos ? std::string() : target.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  uint8_t random[8];
  randombytes_buf(random, sizeof random);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : random) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return dir + "." + name + ".narsign-" + std::to_string(static_cast<long>(getpid())) + "-" + hex + ".tmp";
}

class WriteFilesWorker final : public Napi::AsyncWorker {
 public:
  WriteFilesWorker(Napi::Function callback, std::string dir, std::vector<FileToWrite> files, int durability)
      : Napi::AsyncWorker(callback, "narsign:writeFiles"),
        dir_(std::move(dir)),
        files_(std::move(files)),
        durability_(durability),
        records_(files_.size() * 2, 0) {}

 private:
  // Whether file i's temporary name still holds the inode this call created. (On Linux through an
  // O_PATH descriptor of the name itself, not lstat: no libc symbol beyond those already used.)
  bool StillOurs(size_t i) {
    struct stat st;
#ifdef O_PATH
    int fd = open(files_[i].temp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    bool found = fstat(fd, &st) == 0;
    close(fd);
#else
    bool found = lstat(files_[i].temp.c_str(), &st) == 0;
#endif
    return found && S_ISREG(st.st_mode) && st.st_dev == files_[i].dev && st.st_ino == files_[i].ino;
  }

  void Fail(size_t i, WriteSyscall syscall, int error) {
    records_[i * 2] = error;
    records_[i * 2 + 1] = syscall;
    if (StillOurs(i)) unlink(files_[i].temp.c_str());
  }

  void Execute() override {
    size_t written = 0;
    for (size_t i = 0; i < files_.size(); i++) written += WriteTemp(i) ? 1 : 0;
    if (durability_ == 2 && written > 0) SyncBatch();
    size_t renamed = 0;
    for (size_t i = 0; i < files_.size(); i++) {
      if (records_[i * 2] != 0) continue;
      if (!StillOurs(i)) {
        records_[i * 2] = EEXIST;  // swapped by someone else: neither renamed nor removed
        records_[i * 2 + 1] = kWRename;
      } else if (rename(files_[i].temp.c_str(), files_[i].target.c_str()) != 0) {
        Fail(i, kWRename, errno);
      } else {
        renamed++;
      }
    }
    if (durability_ != 0 && renamed > 0) SyncDirectory();
  }

  // Creates file i's temporary file under a fresh random name; -1 with errno set when it cannot.
  int CreateTemp(FileToWrite& file) {
    for (int attempt = 0; attempt < kTempAttempts; attempt++) {
      file.temp = TempNameFor(file.target);
      int fd = open(file.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
  }

  bool WriteTemp(size_t i) {
    FileToWrite& file = files_[i];
    int fd = CreateTemp(file);
    if (fd < 0) {
      records_[i * 2] = errno;  // nothing was created to remove
      records_[i * 2 + 1] = kWOpen;
      return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int error = errno;
      close(fd);
      records_[i * 2] = error;  // cannot tell it is ours: leave it (a later run removes it)
      records_[i * 2 + 1] = kWOpen;
      return false;
    }
    file.dev = st.st_dev;
    file.ino = st.st_ino;
    if (fchmod(fd, static_cast<mode_t>(file.mode)) != 0) {
      int error = errno;
      close(fd);
      Fail(i, kWOpen, error);
      return false;
    }
    size_t done = 0;
    while (done < file.content.size()) {
      ssize_t n = write(fd, file.content.data() + done, file.content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int error = errno;
        close(fd);
        Fail(i, kWWrite, error);
        return false;
      }
      done += static_cast<size_t>(n);
    }
    if (durability_ == 1 && fsync(fd) != 0) {
      int error = errno;
      close(fd);
      Fail(i, kWFsync, error);
      return false;
    }
    if (close(fd) != 0) {
      Fail(i, kWClose, errno);
      return false;
    }
    return true;
  }

  void SyncBatch() {
#ifdef __linux__
    int fd = open(dir_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    int error = fd < 0 ? errno : (syncfs(fd) != 0 ? errno : 0);
    if (fd >= 0) close(fd);
#else
    int error = ENOSYS;
#endif
    if (error == 0) return;
    for (size_t i = 0; i < files_.size(); i++) {
      if (records_[i * 2] == 0) Fail(i, kWSyncfs, error);
    }
  }

  void SyncDirectory() {
    int fd = open(dir_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    int error = fd < 0 ? errno : (fsync(fd) != 0 ? errno : 0);
    if (fd >= 0) close(fd);
    if (error == 0) return;
    // The files are in place but their renames may not be durable: say so on each of them.
    for (size_t i = 0; i < files_.size(); i++) {
      if (records_[i * 2] == 0) {
        records_[i * 2] = error;
        records_[i * 2 + 1] = kWDirFsync;
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::ArrayBuffer records = Napi::ArrayBuffer::New(env, records_.size() * sizeof(int32_t));
    if (!records_.empty()) std::memcpy(records.Data(), records_.data(), records_.size() * sizeof(int32_t));
    Callback().Call({env.Null(), Napi::TypedArrayOf<int32_t>::New(env, records_.size(), records, 0)});
  }

  std::string dir_;
  std::vector<FileToWrite> files_;
  int durability_;
  std::vector<int32_t> records_;
};

// A string argument for a path: no NUL bytes (open(2) would stop at the first).
std::string PathArg(Napi::Env env, const Napi::Value& value, const std::string& what) {
  if (!value.IsString()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", what + " must be a string");
  std::string path = value.As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", what + " must not contain NUL bytes");
  return path;
}

Napi::Value WriteFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = PathArg(env, info[0], "dir");
  for (size_t arg = 1; arg <= 3; arg++) {
    if (!info[arg].IsArray()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "targets, contents and modes must be arrays");
  }
  Napi::Array targets = info[1].As<Napi::Array>();
  Napi::Array contents = info[2].As<Napi::Array>(), modes = info[3].As<Napi::Array>();
  uint32_t n = targets.Length();
  if (contents.Length() != n || modes.Length() != n) {
    ThrowRangeError(env, "targets, contents and modes must have the same length");
  }
  if (n > kMaxFiles) ThrowRangeError(env, "targets has " + std::to_string(n) + " elements; writeFiles takes at most " + std::to_string(kMaxFiles));
  if (!info[4].IsNumber()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "durability must be a number");
  int durability = info[4].As<Napi::Number>().Int32Value();
  if (durability < 0 || durability > 2) ThrowRangeError(env, "durability must be 0, 1 or 2");
  if (!info[5].IsFunction()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
  std::vector<FileToWrite> files(n);
  for (uint32_t i = 0; i < n; i++) {
    std::string at = "[" + std::to_string(i) + "]";
    files[i].target = PathArg(env, targets.Get(i), "targets" + at);
    Napi::Value content = contents.Get(i);
    if (!content.IsString()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "contents" + at + " must be a string");
    files[i].content = content.As<Napi::String>().Utf8Value();
    Napi::Value mode = modes.Get(i);
    if (!mode.IsNumber()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "modes" + at + " must be a number");
    files[i].mode = mode.As<Napi::Number>().Int32Value() & 0777;
  }
  (new WriteFilesWorker(info[5].As<Napi::Function>(), std::move(dir), std::move(files), durability))->Queue();
  return env.Undefined();
}

Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "paths must be an array");
  if (!info[1].IsFunction()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
  Napi::Array list = info[0].As<Napi::Array>();
  uint32_t n = list.Length();
  if (n > kMaxFiles) ThrowRangeError(env, "paths has " + std::to_string(n) + " elements; readFiles takes at most " + std::to_string(kMaxFiles));
  std::vector<std::string> paths;
  paths.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value path = list.Get(i);
    if (!path.IsString()) ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "paths[" + std::to_string(i) + "] must be a string");
    paths.push_back(path.As<Napi::String>().Utf8Value());
  }
  bool no_follow = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  (new ReadFilesWorker(info[1].As<Napi::Function>(), std::move(paths), no_follow))->Queue();
  return env.Undefined();
}

}  // namespace

void InitFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("readFiles", Napi::Function::New(env, Guarded<ReadFiles>, "readFiles"));
  exports.Set("writeFiles", Napi::Function::New(env, Guarded<WriteFiles>, "writeFiles"));
}

}  // namespace narsign
