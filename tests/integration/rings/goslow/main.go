// goslow: a Go program whose C code makes one slow read (a pipe that a C
// thread answers after 40 ms; one fast read before it, so the shim knows the
// pipe), then ends with os.Exit(0): a raw exit_group,
// no atexit handler, no ELF destructor. The flight recorder's rings live in
// the shared region, so the final report, written by the watcher after the
// process is gone, must still show the read. Prints "slow ns N fd FD".
package main

/*
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int fds[2];

static void *answer(void *arg)
{
	struct timespec ts = { 0, 40 * 1000000L };
	nanosleep(&ts, NULL);
	if (write(fds[1], "x", 1) != 1)
		abort();
	return NULL;
}

static long long slow_read(int *fd)
{
	pthread_t th;
	struct timespec a, b;
	char c;
	if (pipe(fds) || write(fds[1], "f", 1) != 1 || read(fds[0], &c, 1) != 1)
		abort();
	if (pthread_create(&th, NULL, answer, NULL))
		abort();
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (read(fds[0], &c, 1) != 1)
		abort();
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(th, NULL);
	*fd = fds[0];
	return (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}
*/
import "C"

import (
	"fmt"
	"os"
)

func main() {
	var fd C.int
	ns := C.slow_read(&fd)
	fmt.Printf("slow ns %d fd %d\n", int64(ns), int(fd))
	os.Exit(0)
}
