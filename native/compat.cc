// Lets the Linux prebuilds load on glibc 2.28 (what Node 18+ itself needs) although they are built
// against a newer glibc, whose headers and Debian's libsodium.a bind two newer symbols:
//  - fstat (GLIBC_2.33; before, an inline over __fxstat), called by files.cc and by libsodium's
//    randombytes: defined here over the system call, hidden, so every call in the addon binds to it;
//  - __libc_single_threaded (GLIBC_2.32), read by GCC 12's libstdc++ headers to skip atomic
//    reference counts in a single-threaded process: a hidden definition of our own, 0 ("threads may
//    exist"), keeps the atomics, which an addon running on the libuv pool needs anyway.
// Hidden definitions bind inside the addon at link time and are never exported (native/exports.map).
#if defined(__linux__)
// No <sys/stat.h>: with _FILE_OFFSET_BITS=64 (node-gyp's default) it renames fstat to fstat64, and
// both names are in use (libsodium.a calls fstat), so both are defined here under their own names.
#include <sys/syscall.h>
#include <unistd.h>

extern "C" {

#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 33) && defined(SYS_fstat)
struct stat;
// x86_64 and aarch64: the kernel's struct stat is glibc's (and stat64 is stat).
__attribute__((visibility("hidden"))) int fstat(int fd, struct stat* st) {
  return static_cast<int>(syscall(SYS_fstat, fd, st));
}
__attribute__((visibility("hidden"))) int fstat64(int fd, struct stat* st) {
  return static_cast<int>(syscall(SYS_fstat, fd, st));
}
#endif

#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 32)
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
#endif

}  // extern "C"
#endif
