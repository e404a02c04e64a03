/* heappeak.c - a heap that peaks in the middle and is freed by the end:
 * 1000 temporary 64-byte blocks (each freed before the next allocation),
 * then 100 blocks of 1 MiB held for 200 ms from hold(), all freed, then
 * one 77-byte block that stays. test_heaptotals.py compares the report's
 * heap totals with valgrind's "total heap usage" line on the same binary. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
void *volatile sink;
static __attribute__((noinline)) void **hold(int n, size_t sz) {
  void **v = malloc(n * sizeof(void*));
  for (int i = 0; i < n; i++) { v[i] = malloc(sz); memset(v[i], 1, sz); }
  return v;
}
static __attribute__((noinline)) void temps(int n) { for (int i = 0; i < n; i++) { char *p = malloc(64); p[0] = 1; sink = p; free(p); } }
int main(void) {
  temps(1000);
  void **v = hold(100, 1 << 20);   /* 100 MiB */
  struct timespec ts = { 0, 200000000 }; nanosleep(&ts, NULL);
  for (int i = 0; i < 100; i++) free(v[i]);
  free(v);
  nanosleep(&ts, NULL);
  sink = malloc(77);
  return 0;
}
