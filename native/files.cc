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

// writeFiles(dir, targets, contents, modes, durability, callback) replaces a batch of files of
// `dir` atomically, on the pool: each content is written to a temporary file this call creates,
// made durable (durability 1: fsync each file; 2: one syncfs for the batch; 0: not), and renamed
// over its target; then the directory is fsynced (durability 1 or 2). A temporary file that failed
// any step is removed and its target left alone; with syncfs, a failed flush fails the whole batch.
// A target is a name in `dir`, or `dir` + '/' + name (anything else fails with EINVAL at open).
//
// The temporary files live in a private directory the call creates in `dir`:
// `.narsign-<pid>-<16 random hex>` (the pid lets a later run remove a dead one's; the random part
// makes it unguessable), mkdir'ed 0700 and then opened O_DIRECTORY|O_NOFOLLOW and checked on the
// open descriptor (a directory of this euid, mode 0700: else someone swapped it between the mkdir
// and the open, and the batch is refused with nothing written, syscall 8). Only this euid can then
// create, rename or remove names in it, so every later step goes through descriptors
// (openat/renameat/unlinkat on the private directory and on `dir`, opened once) and no name a
// co-tenant of `dir` can touch is ever resolved: nothing it planted is written through, and nothing
// it swapped in is renamed into place. Each temporary file is created O_EXCL|O_NOFOLLOW, mode 0600
// until written, then fchmod'ed to the mode given (masked to 0777: never setuid, never broader than
// the original). At the end the private directory is removed, if its name still holds it.
// callback(null, records): 2 int32 per file, [errno, syscall] (0, 0 when replaced; syscalls: 0 open,
// 1 write, 2 fsync, 3 close, 4 rename, 5 syncfs, 7 mkdir (the private directory), 8 the private
// directory was swapped; the directory's fsync failing is reported on every replaced file as 6).
enum WriteSyscall { kWOpen = 0, kWWrite = 1, kWFsync = 2, kWClose = 3, kWRename = 4, kWSyncfs = 5, kWDirFsync = 6, kWMkdir = 7, kWSwapped = 8 };

// Attempts at a fresh random name before giving up (a collision means someone lists and plants).
constexpr int kTempAttempts = 8;

struct FileToWrite {
  std::string target, content, name, temp;
  int mode;
};

// `<prefix><pid>-<16 random hex><suffix>`.
std::string RandomName(const std::string& prefix, const std::string& suffix) {
  uint8_t random[8];
  randombytes_buf(random, sizeof random);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : random) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return prefix + std::to_string(static_cast<long>(getpid())) + "-" + hex + suffix;
}

// The name in `dir` that `target` denotes, or "" when it is not one.
std::string NameIn(const std::string& dir, const std::string& target) {
  size_t slash = target.rfind('/');
  std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  if (slash != std::string::npos && target.compare(0, slash, dir) != 0) return std::string();
  if (slash != std::string::npos && slash != dir.size()) return std::string();
  if (name.empty() || name == "." || name == "..") return std::string();
  return name;
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
  void Record(size_t i, WriteSyscall syscall, int error) {
    records_[i * 2] = error;
    records_[i * 2 + 1] = syscall;
  }

  // Every file not yet failed fails with `error` at `syscall`.
  void FailAll(WriteSyscall syscall, int error) {
    for (size_t i = 0; i < files_.size(); i++) {
      if (records_[i * 2] == 0) Record(i, syscall, error);
    }
  }

  // The temporary file is in the private directory: no one else can have replaced it.
  void Fail(size_t i, WriteSyscall syscall, int error) {
    Record(i, syscall, error);
    unlinkat(priv_fd_, files_[i].temp.c_str(), 0);
  }

  void Execute() override {
    for (size_t i = 0; i < files_.size(); i++) {
      files_[i].name = NameIn(dir_, files_[i].target);
      if (files_[i].name.empty()) Record(i, kWOpen, EINVAL);
    }
    dir_fd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return FailAll(kWOpen, errno);
    if (MakePrivateDirectory()) {
      size_t written = 0;
      for (size_t i = 0; i < files_.size(); i++) written += records_[i * 2] == 0 && WriteTemp(i) ? 1 : 0;
      if (durability_ == 2 && written > 0) SyncBatch();
      size_t renamed = 0;
      for (size_t i = 0; i < files_.size(); i++) {
        if (records_[i * 2] != 0) continue;
        if (renameat(priv_fd_, files_[i].temp.c_str(), dir_fd_, files_[i].name.c_str()) != 0) {
          Fail(i, kWRename, errno);
        } else {
          renamed++;
        }
      }
      RemovePrivateDirectory();
      if (durability_ != 0 && renamed > 0) SyncDirectory();
    }
    close(dir_fd_);
  }

  // Creates and opens the private directory; false (every file failed) when it cannot, or when
  // what the name holds by the time it is opened is not the directory just made.
  bool MakePrivateDirectory() {
    int error = EEXIST;
    for (int attempt = 0; attempt < kTempAttempts && error == EEXIST; attempt++) {
      priv_name_ = RandomName(".narsign-", "");
      error = mkdirat(dir_fd_, priv_name_.c_str(), 0700) == 0 ? 0 : errno;
    }
    if (error != 0) {
      FailAll(kWMkdir, error);
      return false;
    }
    priv_fd_ = openat(dir_fd_, priv_name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (priv_fd_ < 0) {
      // A link, a file or nothing where the directory was just made: someone swapped it.
      FailAll(errno == ELOOP || errno == ENOTDIR || errno == ENOENT ? kWSwapped : kWOpen, errno);
      return false;
    }
    struct stat st;
    if (fstat(priv_fd_, &st) != 0) {
      FailAll(kWOpen, errno);
    } else if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
      FailAll(kWSwapped, EPERM);  // someone else's: left alone, nothing written
    } else {
      priv_dev_ = st.st_dev;
      priv_ino_ = st.st_ino;
      return true;
    }
    close(priv_fd_);
    priv_fd_ = -1;
    return false;
  }

  // Removes the (by now empty) private directory, only while its name still holds it.
  void RemovePrivateDirectory() {
    int fd = openat(dir_fd_, priv_name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    bool same = fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == priv_dev_ && st.st_ino == priv_ino_;
    if (fd >= 0) close(fd);
    if (same) unlinkat(dir_fd_, priv_name_.c_str(), AT_REMOVEDIR);
    close(priv_fd_);
    priv_fd_ = -1;
  }

  // Creates file i's temporary file under a fresh random name; -1 with errno set when it cannot.
  int CreateTemp(FileToWrite& file) {
    for (int attempt = 0; attempt < kTempAttempts; attempt++) {
      file.temp = RandomName("." + file.name + ".narsign-", ".tmp");
      int fd = openat(priv_fd_, file.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
  }

  bool WriteTemp(size_t i) {
    FileToWrite& file = files_[i];
    int fd = CreateTemp(file);
    if (fd < 0) {
      Record(i, kWOpen, errno);  // nothing was created to remove
      return false;
    }
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
    int error = syncfs(dir_fd_) != 0 ? errno : 0;
#else
    int error = ENOSYS;
#endif
    if (error == 0) return;
    for (size_t i = 0; i < files_.size(); i++) {
      if (records_[i * 2] == 0) Fail(i, kWSyncfs, error);
    }
  }

  void SyncDirectory() {
    int error = fsync(dir_fd_) != 0 ? errno : 0;
    if (error == 0) return;
    // The files are in place but their renames may not be durable: say so on each of them.
    FailAll(kWDirFsync, error);
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
  int dir_fd_ = -1;
  int priv_fd_ = -1;
  std::string priv_name_;
  dev_t priv_dev_ = 0;
  ino_t priv_ino_ = 0;
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
