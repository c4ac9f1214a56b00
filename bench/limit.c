/*
 * libsodium's own Ed25519 speed on this machine: the ceiling narsign is measured against.
 *
 *   narsign-limit MSGBYTES THREADS SECONDS [both|sign|verify]
 *   narsign-limit serve      the same, once per input line "MSGBYTES THREADS SECONDS MODE [CPU]";
 *                            with CPU, every thread runs on that CPU only
 *
 * Each of THREADS pthreads signs (then verifies) MSGBYTES-long messages in a tight loop for about
 * SECONDS each (only one of the two with `sign` or `verify`), all started together behind a barrier; the threads are created once and the
 * timing covers only the loops. Like the JS contenders in scripts/bench.js, each thread cycles through
 * NMESSAGES different messages and their signatures: verifying one signature over and over lets the
 * CPU's branch predictor learn libsodium's variable-time scalar multiplication for that one input,
 * which measured about 5 % faster than verifying different signatures — a speed no real use sees.
 * Prints one JSON line:
 *   {"bytes":240,"threads":2,"sign":{"ops":…,"seconds":…,"perSecond":…},"verify":{…}}
 * perSecond is the total over all threads (ops / wall time of the slowest thread); perCpuSecond is
 * ops per second of CPU time summed over the threads (insensitive to other processes on the machine).
 * Built by CMake as the non-default target `narsign-limit` (see CMakeLists.txt); scripts/bench.js
 * builds it and starts one `serve` process before it measures anything: starting a process for each
 * round forks the benchmark (libuv forks), which leaves all of its memory copy-on-write, and every
 * page narsign, sodium-native or V8 writes next faults again — 15 µs a page on the VM we measure on,
 * a cost only the JS rows paid.
 */
#define _GNU_SOURCE /* pthread_setaffinity_np */
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NMESSAGES 256

struct worker {
  pthread_t thread;
  size_t msgBytes;
  double seconds;
  unsigned long long signOps, verifyOps;
  double signSeconds, verifySeconds;       /* wall */
  double signCpuSeconds, verifyCpuSeconds; /* this thread's CPU time */
  unsigned seed;
  int doSign, doVerify;
  int cpu; /* >= 0: run on this CPU only */
  int failed;
};

static pthread_barrier_t barrier;

static double clock_seconds(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double now(void) { return clock_seconds(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

/* A fingerprint-shaped message ("1;/nix/store/…;sha256:…;size;refs") cut or padded to msgBytes; the
 * hashes are pseudo-random, different for each seed. */
static void fill_message(unsigned char *m, size_t n, unsigned seed) {
  static const char base32[] = "0123456789abcdfghijklmnpqrsvwxyz";
  unsigned long long state = 0x9e3779b97f4a7c15ull * (seed + 1ull);
  char text[512];
  int len = 0;
#define HASH(count)                                              \
  for (int i = 0; i < (count); i++) {                            \
    state = state * 6364136223846793005ull + 1442695040888963407ull; \
    text[len++] = base32[state >> 59];                           \
  }
  len += snprintf(text + len, sizeof text - (size_t)len, "1;/nix/store/");
  HASH(32)
  len += snprintf(text + len, sizeof text - (size_t)len, "-hello-2.12.1;sha256:");
  HASH(52)
  len += snprintf(text + len, sizeof text - (size_t)len, ";226560;");
  while (len < (int)sizeof text - 64) {
    len += snprintf(text + len, sizeof text - (size_t)len, "/nix/store/");
    HASH(32)
    len += snprintf(text + len, sizeof text - (size_t)len, "-glibc-2.39-52,");
  }
#undef HASH
  for (size_t i = 0; i < n; i++) m[i] = (unsigned char)text[i % (size_t)len];
}

/* Runs the loops in blocks of 64 until the deadline; the clock is read once per block. */
static void *run(void *arg) {
  struct worker *w = arg;
  if (w->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  size_t stride = w->msgBytes ? w->msgBytes : 1;
  unsigned char *m = malloc(stride * NMESSAGES);
  unsigned char *sig = malloc((size_t)crypto_sign_BYTES * NMESSAGES);
  if (m == NULL || sig == NULL) {
    w->failed = 1;
    free(m);
    free(sig);
    return NULL;
  }
  for (unsigned i = 0; i < NMESSAGES; i++) fill_message(m + i * stride, w->msgBytes, w->seed * NMESSAGES + i);
  crypto_sign_keypair(pk, sk);

  pthread_barrier_wait(&barrier);
  double cpuStart = cpu_now();
  double start = now(), end = start;
  unsigned long long ops = 0;
  if (w->doSign) do {
    for (int i = 0; i < 64; i++) {
      size_t k = ops % NMESSAGES;
      crypto_sign_detached(sig + k * crypto_sign_BYTES, NULL, m + k * stride, w->msgBytes, sk);
      ops++;
    }
    end = now();
  } while (end - start < w->seconds);
  w->signOps = ops;
  w->signSeconds = end - start;
  w->signCpuSeconds = cpu_now() - cpuStart;

  for (size_t k = 0; k < NMESSAGES; k++) crypto_sign_detached(sig + k * crypto_sign_BYTES, NULL, m + k * stride, w->msgBytes, sk);
  pthread_barrier_wait(&barrier);
  cpuStart = cpu_now();
  start = now();
  ops = 0;
  end = start;
  if (w->doVerify) do {
    for (int i = 0; i < 64; i++) {
      size_t k = ops % NMESSAGES;
      if (crypto_sign_verify_detached(sig + k * crypto_sign_BYTES, m + k * stride, w->msgBytes, pk) != 0) w->failed = 1;
      ops++;
    }
    end = now();
  } while (end - start < w->seconds);
  w->verifyOps = ops;
  w->verifySeconds = end - start;
  w->verifyCpuSeconds = cpu_now() - cpuStart;
  free(m);
  free(sig);
  return NULL;
}

/* One measurement; prints its JSON line to stdout. Returns the process exit status (0 ok). */
static int measure(size_t msgBytes, int threads, double seconds, const char *mode, int cpu) {
  int doSign = strcmp(mode, "verify") != 0, doVerify = strcmp(mode, "sign") != 0;
  if (threads < 1 || threads > 256 || seconds <= 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  struct worker *workers = calloc((size_t)threads, sizeof *workers);
  if (workers == NULL) return 1;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads);
  for (int t = 0; t < threads; t++) {
    workers[t].msgBytes = msgBytes;
    workers[t].seconds = seconds;
    workers[t].seed = (unsigned)t;
    workers[t].doSign = doSign;
    workers[t].doVerify = doVerify;
    workers[t].cpu = cpu;
    if (pthread_create(&workers[t].thread, NULL, run, &workers[t]) != 0) return 1;
  }
  unsigned long long signOps = 0, verifyOps = 0;
  double signSeconds = 0, verifySeconds = 0, signCpu = 0, verifyCpu = 0;
  int failed = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(workers[t].thread, NULL);
    signOps += workers[t].signOps;
    verifyOps += workers[t].verifyOps;
    if (workers[t].signSeconds > signSeconds) signSeconds = workers[t].signSeconds;
    if (workers[t].verifySeconds > verifySeconds) verifySeconds = workers[t].verifySeconds;
    signCpu += workers[t].signCpuSeconds;
    verifyCpu += workers[t].verifyCpuSeconds;
    failed |= workers[t].failed;
  }
  pthread_barrier_destroy(&barrier);
  free(workers);
  if (failed) {
    fprintf(stderr, "verification failed\n");
    return 1;
  }
  if (!doSign) signSeconds = signCpu = 1;
  if (!doVerify) verifySeconds = verifyCpu = 1;
  printf("{\"bytes\":%zu,\"threads\":%d,\"libsodium\":\"%s\","
         "\"sign\":{\"ops\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"perSecond\":%.1f,\"perCpuSecond\":%.1f},"
         "\"verify\":{\"ops\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"perSecond\":%.1f,\"perCpuSecond\":%.1f}}\n",
         msgBytes, threads, sodium_version_string(), signOps, signSeconds, signCpu, signOps / signSeconds,
         signOps / signCpu, verifyOps, verifySeconds, verifyCpu, verifyOps / verifySeconds, verifyOps / verifyCpu);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  if (argc == 2 && strcmp(argv[1], "serve") == 0) {
    /* One measurement per line "MSGBYTES THREADS SECONDS MODE" until end of input. */
    char line[256];
    while (fgets(line, sizeof line, stdin) != NULL) {
      size_t msgBytes;
      int threads;
      double seconds;
      char mode[16];
      int cpu = -1;
      if (sscanf(line, "%zu %d %lf %15s %d", &msgBytes, &threads, &seconds, mode, &cpu) < 4) {
        fprintf(stderr, "bad request: %s", line);
        return 2;
      }
      int status = measure(msgBytes, threads, seconds, mode, cpu);
      if (status != 0) return status;
    }
    return 0;
  }
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s MSGBYTES THREADS SECONDS [both|sign|verify]\n       %s serve\n", argv[0], argv[0]);
    return 2;
  }
  return measure((size_t)strtoul(argv[1], NULL, 10), atoi(argv[2]), atof(argv[3]), argc == 5 ? argv[4] : "both", -1);
}
