// gowork - the Go workload of bench/run (issue #6): goroutines that call
// into C through cgo from several threads, the way a Go service uses a C
// library. One op is the usual cgo pattern:
//
//	cs := C.CString(s)      // malloc, through cgo's _cgo_cmalloc
//	C.consume(cs, fd)       // a read(2) of 1 byte from /dev/zero, strlen
//	C.free(cs)              // free
//
// so three cgo calls, a malloc/free pair and a read per op.
//
// Usage: gowork -n N -t THREADS -out FILE [-warm OPS]
//
// GOMAXPROCS is set to THREADS and THREADS goroutines share the N ops. The
// program times itself (Go's monotonic clock, no libc call) from after a
// warm-up (200 ms) to the end of the last goroutine, and writes one JSON
// line to FILE in the same form as cwork: op, n, threads, ns, ns_per_op,
// cpu_ns_per_op (CPU time of the process over the timed part, per op: the
// Go runtime's idle spinning included, as natively), hwm_kb (VmHWM, the
// peak RSS of this process). -warm makes the warm-up a fixed number of ops
// (for callgrind, where the instructions of N and 2N ops are subtracted).
package main

/*
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_zero(void) { return open("/dev/zero", O_RDONLY); }

static long consume(const char *s, int fd)
{
	char c = 1;
	if (read(fd, &c, 1) != 1)
		return -1;
	return (long)strlen(s) + c;
}
*/
import "C"

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var texts = []string{
	"GET /v1/objects/0001",
	"PUT /v1/objects/0002 application/octet-stream",
	"cgoshim",
	"DELETE /v1/objects/0003?version=42&lease=xyz",
}

func op(fd C.int, i int) {
	cs := C.CString(texts[i%len(texts)])
	if C.consume(cs, fd) < 0 {
		fmt.Fprintln(os.Stderr, "gowork: read /dev/zero failed")
		os.Exit(2)
	}
	C.free(unsafe.Pointer(cs))
}

// cpuNs is the CPU time of the whole process, user and system (a raw
// getrusage system call: no libc, nothing the shim times).
func cpuNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func hwmKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			v, err := strconv.ParseInt(strings.Fields(sc.Text())[1], 10, 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

func main() {
	n := flag.Int("n", 100000, "ops in all")
	threads := flag.Int("t", 1, "goroutines and GOMAXPROCS")
	out := flag.String("out", "", "result file")
	warmOps := flag.Int("warm", -1, "warm-up ops (default: 200 ms)")
	flag.Parse()
	if *n < 1 || *threads < 1 || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gowork -n N -t THREADS -out FILE")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)
	fd := C.open_zero()
	if fd < 0 {
		fmt.Fprintln(os.Stderr, "gowork: open /dev/zero failed")
		os.Exit(2)
	}
	// Warm-up, as in cwork: at least min(n/10, 1000) ops and 200 ms, to get
	// past the tools' start-up.
	warm := *n / 10
	if warm > 1000 {
		warm = 1000
	}
	w0 := time.Now()
	if *warmOps >= 0 {
		for i := 0; i < *warmOps; i++ {
			op(fd, i)
		}
	} else {
		for i := 0; i < warm || time.Since(w0) < 200*time.Millisecond; i++ {
			op(fd, i)
		}
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	for t := 0; t < *threads; t++ {
		k := *n / *threads
		if t < *n%*threads {
			k++
		}
		wg.Add(1)
		go func(seed, k int) {
			defer wg.Done()
			<-start
			for i := 0; i < k; i++ {
				op(fd, seed+i)
			}
		}(t*7919, k)
	}
	cpu0 := cpuNs()
	t0 := time.Now()
	close(start)
	wg.Wait()
	ns := time.Since(t0).Nanoseconds()
	cpu := cpuNs() - cpu0

	res := map[string]interface{}{
		"op": "go", "n": *n, "threads": *threads, "ns": ns, "live": 0,
		"ns_per_op": float64(ns) / float64(*n), "best_block_ns_per_op": -1.0,
		"cpu_ns_per_op": float64(cpu) / float64(*n), "hwm_kb": hwmKB(),
	}
	b, _ := json.Marshal(res)
	if err := os.WriteFile(*out, append(b, '\n'), 0644); err != nil {
		fmt.Fprintln(os.Stderr, "gowork:", err)
		os.Exit(2)
	}
}
