// ioctl-loop: a hot loop of ioctl(FIONREAD) on a pipe, made from C through
// cgo by one goroutine per GOMAXPROCS thread.
//
// A pattern seen in event loops that poll "how many bytes are waiting?"
// instead of blocking: every check is a cgo call plus a system call. The
// program prints its own call rate; under cgoshim the report shows ioctl
// on target "pipe" with the count and the per-call latency histogram, and
// the shim's overhead per call can be read by comparing the rates with and
// without it.
//
// Usage: ioctl-loop [-n calls per goroutine] [-g goroutines (default GOMAXPROCS)]
package main

/*
#include <sys/ioctl.h>

// pending returns how many bytes wait in fd, or -1.
static int pending(int fd)
{
	int n = 0;
	if (ioctl(fd, FIONREAD, &n) < 0)
		return -1;
	return n;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 100000, "ioctl calls per goroutine")
	g := flag.Int("g", runtime.GOMAXPROCS(0), "goroutines")
	flag.Parse()
	if *n <= 0 || *g <= 0 {
		fmt.Fprintln(os.Stderr, "ioctl-loop: -n and -g must be positive")
		os.Exit(2)
	}

	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ioctl-loop:", err)
		os.Exit(1)
	}
	msg := []byte("sixteen bytes..!")
	if _, err := w.Write(msg); err != nil {
		fmt.Fprintln(os.Stderr, "ioctl-loop:", err)
		os.Exit(1)
	}
	fd := C.int(r.Fd())

	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	start := time.Now()
	for k := 0; k < *g; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrong := 0
			for i := 0; i < *n; i++ {
				if C.pending(fd) != C.int(len(msg)) {
					wrong++
				}
			}
			mu.Lock()
			bad += wrong
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.KeepAlive(r)
	w.Close()
	r.Close()

	total := *n * *g
	fmt.Printf("ioctl-loop: %d calls from %d goroutines in %v (%.0f ns/call/goroutine)\n",
		total, *g, elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())*float64(*g)/float64(total))
	if bad != 0 {
		fmt.Fprintf(os.Stderr, "ioctl-loop: %d calls did not see %d bytes pending\n", bad, len(msg))
		os.Exit(1)
	}
}
