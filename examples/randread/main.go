// randread: a "crypto bridge" whose C side reads key material from a
// blocking entropy source, the way code that read /dev/random used to stall
// when the kernel's entropy pool ran dry.
//
// To make the stall reproducible, the entropy source is a FIFO that a
// goroutine fills: most requests find bytes waiting, but before one request
// in 50 the filler pauses for 100-400 ms, so that request's read(2) in C
// blocks. The program times each request from Go and prints its p50 and p99.
// Under cgoshim, the report's "targets" show read on the FIFO with a tail of
// hundreds of milliseconds, which no Go profiler shows (the time is spent
// inside C, in a system call made by C code).
//
// Usage: randread [-n requests] [-slow 50] [-seed 1] [-source /path/to/fifo]
package main

/*
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

// bridge_open opens the entropy source. Returns a descriptor or -errno.
static int bridge_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

// bridge_seed fills key[0..n) from fd, as a crypto library seeding itself
// would. Returns 0 or -errno (-EPIPE at end of file).
static int bridge_seed(int fd, unsigned char *key, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, key + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EPIPE;
		got += (size_t)k;
	}
	return 0;
}

// bridge_sign stands for the work done with the key: a keyed FNV-1a hash.
static uint64_t bridge_sign(const unsigned char *key, size_t n, uint64_t msg)
{
	uint64_t h = 1469598103934665603ull ^ msg;
	for (size_t i = 0; i < n; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return h;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
	"unsafe"
)

const keyLen = 32

// fill writes one key's worth of bytes per request into the FIFO, pausing
// 100-400 ms before every slow-th one.
func fill(path string, n, slow int, seed int64, errc chan<- error) {
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		errc <- err
		return
	}
	defer w.Close()
	rng := rand.New(rand.NewSource(seed))
	chunk := make([]byte, keyLen)
	for i := 0; i < n; i++ {
		if slow > 0 && i%slow == slow-1 {
			time.Sleep(time.Duration(100+rng.Intn(301)) * time.Millisecond)
		}
		rng.Read(chunk)
		if _, err := w.Write(chunk); err != nil {
			errc <- err
			return
		}
	}
	errc <- nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

func main() {
	n := flag.Int("n", 500, "requests to serve")
	slow := flag.Int("slow", 50, "one request in this many finds the source empty (0: never)")
	seed := flag.Int64("seed", 1, "seed of the filler's pauses and bytes")
	source := flag.String("source", "", "FIFO to create and read (default: in a temporary directory)")
	flag.Parse()
	if *n <= 0 {
		fmt.Fprintln(os.Stderr, "randread: -n must be positive")
		os.Exit(2)
	}

	path := *source
	if path == "" {
		dir, err := os.MkdirTemp("", "randread-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "randread:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "random")
	}
	if err := syscall.Mkfifo(path, 0600); err != nil {
		fmt.Fprintln(os.Stderr, "randread: mkfifo:", err)
		os.Exit(1)
	}
	if *source != "" {
		defer os.Remove(path)
	}

	errc := make(chan error, 1)
	go fill(path, *n, *slow, *seed, errc)

	cpath := C.CString(path)
	fd := C.bridge_open(cpath)
	C.free(unsafe.Pointer(cpath))
	if fd < 0 {
		fmt.Fprintln(os.Stderr, "randread: open:", syscall.Errno(-fd))
		os.Exit(1)
	}

	key := (*C.uchar)(C.malloc(keyLen))
	lat := make([]time.Duration, 0, *n)
	var sum uint64
	for i := 0; i < *n; i++ {
		start := time.Now()
		if rc := C.bridge_seed(fd, key, keyLen); rc != 0 {
			fmt.Fprintln(os.Stderr, "randread: read:", syscall.Errno(-rc))
			os.Exit(1)
		}
		sum ^= uint64(C.bridge_sign(key, keyLen, C.uint64_t(i)))
		lat = append(lat, time.Since(start))
	}
	C.free(unsafe.Pointer(key))
	C.close(fd)
	if err := <-errc; err != nil {
		fmt.Fprintln(os.Stderr, "randread: filler:", err)
		os.Exit(1)
	}

	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	fmt.Printf("randread: %d requests  p50 %v  p99 %v  max %v  (digest %016x)\n",
		*n, percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1], sum)
}
