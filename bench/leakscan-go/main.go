// leakscan-go: CPU-bound goroutines, preempted by the runtime's SIGURG,
// to measure what holding the exit costs a Go program (bench/run-leakscan):
// every signal to the main thread stops it once under the launcher's ptrace.
// Prints the wall time of a fixed amount of work in seconds.
package main

// #include <stdlib.h>
import "C"

import (
	"fmt"
	"sync"
	"time"
	"unsafe"
)

func spin(n int) uint64 {
	var x uint64 = 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func main() {
	C.free(unsafe.Pointer(C.CString("cgo")))
	t0 := time.Now()
	var wg sync.WaitGroup
	var sink uint64
	var mu sync.Mutex
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := spin(300000000)
			mu.Lock()
			sink += v
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("%.3f %d\n", time.Since(t0).Seconds(), sink&1)
}
