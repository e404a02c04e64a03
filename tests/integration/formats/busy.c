/* busy.c - busy SECONDS: allocates 100 bytes every millisecond (three in
 * four freed) for SECONDS, then prints "done": a running program for the
 * HTTP endpoint tests (test_listen.py). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
void *volatile sink;
int main(int argc, char **argv)
{
  int secs = argc > 1 ? atoi(argv[1]) : 3;
  time_t end = time(NULL) + secs;
  while (time(NULL) < end) { char *p = malloc(100); memset(p, 1, 100); sink = p; if (rand() % 4) free(p);
    struct timespec ts = {0, 1000000}; nanosleep(&ts, NULL); }
  puts("done"); return 0;
}
