/*
 * minicloud lab guest helper (static, compiled by infra/lab/image/build.sh,
 * installed in the guest as /bin/minicloud).
 *
 *   minicloud counter
 *       prints "minicloud-counter N" (N = 1, 2, ...) once per second on
 *       stdout (the serial console), one write() per line; deadlines are
 *       absolute (CLOCK_MONOTONIC), so there is no drift; after a long stall
 *       (e.g. a paused guest) it resynchronises instead of bursting.
 *
 *   minicloud dirty MIB word|random [RATE_MIB_PER_S]
 *       allocates MIB MiB, touches every page, prints
 *       "minicloud-dirty started mib=.. mode=.. rate=.. pid=..", then loops:
 *         word   : increments one 64-bit word per 4 KiB page (light writer:
 *                  every page dirty, tiny deltas -> xbzrle friendly)
 *         random : rewrites each page completely with pseudo-random data
 *                  (heavy writer: incompressible, xbzrle-hostile)
 *       with RATE, page writes are throttled to RATE MiB/s (RATE 0 = no cap).
 *       Runs until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = write(1, buf + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    off += w;
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int counter(void) __attribute__((noreturn));
static int counter(void) {
  struct timespec next, now;
  unsigned long n = 0;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    say("minicloud-counter %lu", ++n);
    next.tv_sec += 1;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec + 1) next = now; /* stalled: no catch-up burst */
  }
}


static int dirty(long mib, const char *mode, double rate) {
  int random_mode;
  if (!strcmp(mode, "word"))
    random_mode = 0;
  else if (!strcmp(mode, "random"))
    random_mode = 1;
  else {
    say("minicloud-dirty error unknown mode '%s' (word|random)", mode);
    return 2;
  }
  if (mib <= 0 || mib > 1 << 20) {
    say("minicloud-dirty error bad size %ld MiB", mib);
    return 2;
  }
  size_t bytes = (size_t)mib << 20, pages = bytes / PAGE;
  unsigned char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    say("minicloud-dirty error cannot allocate %ld MiB: %s", mib, strerror(errno));
    return 1;
  }
  madvise(p, bytes, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < pages; i++) p[i * PAGE] = 1;
  if (rate > 0)
    say("minicloud-dirty started mib=%ld mode=%s rate=%g pid=%d", mib, mode, rate, (int)getpid());
  else
    say("minicloud-dirty started mib=%ld mode=%s rate=unlimited pid=%d", mib, mode, (int)getpid());

  uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() ^ (uint64_t)time(NULL);
  const size_t chunk = 64; /* pages between throttle checks (256 KiB) */
  double t0 = now_s(), written = 0; /* MiB */
  for (size_t i = 0;; i = (i + 1) % pages) {
    unsigned char *pg = p + i * PAGE;
    if (random_mode) {
      volatile uint64_t *w = (volatile uint64_t *)pg;
      for (size_t k = 0; k < PAGE / 8; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w[k] = x;
      }
    } else {
      (*(volatile uint64_t *)pg)++;
    }
    if (rate > 0 && i % chunk == chunk - 1) {
      written += (double)(chunk * PAGE) / (1 << 20);
      double ahead = written / rate - (now_s() - t0);
      if (ahead > 0.0005) {
        struct timespec ts = {(time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9)};
        nanosleep(&ts, NULL);
      } else if (ahead < -1.0) { /* could not keep up (or was paused): don't burst */
        t0 = now_s();
        written = 0;
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "counter")) return counter();
  if (argc >= 4 && !strcmp(argv[1], "dirty")) {
    char *end;
    long mib = strtol(argv[2], &end, 10);
    if (*end) {
      say("minicloud-dirty error bad size '%s'", argv[2]);
      return 2;
    }
    double rate = argc >= 5 ? strtod(argv[4], NULL) : 0;
    return dirty(mib, argv[3], rate);
  }
  fprintf(stderr, "usage: minicloud counter | minicloud dirty MIB word|random [RATE_MIB_S]\n");
  return 2;
}
