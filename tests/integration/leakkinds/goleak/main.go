// goleak: C blocks of a Go program in every standing (test_kinds.py, go
// cases):
//   - dropString: 40 C.CString of 111 bytes whose pointers are dropped:
//     definitely lost;
//   - keepString: 5 C.CString of 221 bytes kept in a Go slice (Go heap):
//     still reachable;
//   - C.keep_in_c: one block of 333 bytes kept in a C global: still
//     reachable.
// Then a live report (cgoshim_dump_wait through cgo), and the end: return
// from main, or os.Exit(3) with "exit3".
package main

/*
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// Not static: GCC drops a static that nothing reads, malloc and all.
void *c_keep;

static void keep_in_c(size_t n)
{
	c_keep = malloc(n);
	memset(c_keep, 3, n);
}

static int dump_wait(void)
{
	int (*w)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "cgoshim_dump_wait");
	return w ? w(20000) : -1;
}
*/
import "C"

import (
	"os"
	"runtime"
	"strings"
)

var goKeep []*C.char

//go:noinline
func dropString(s string) {
	p := C.CString(s)
	if p == nil {
		panic("no memory")
	}
}

//go:noinline
func keepString(s string) {
	goKeep = append(goKeep, C.CString(s))
}

// scrub overwrites the dead frames below main's with zeros.
//
//go:noinline
func scrub(depth int) byte {
	var buf [2048]byte
	if depth == 0 {
		return buf[7]
	}
	return scrub(depth-1) + buf[depth%2048]
}

func main() {
	C.keep_in_c(333)
	for i := 0; i < 5; i++ {
		keepString(strings.Repeat("k", 220))
	}
	for i := 0; i < 40; i++ {
		dropString(strings.Repeat("d", 110))
	}
	scrub(8)
	runtime.GC()
	C.dump_wait()
	if len(os.Args) > 1 && os.Args[1] == "exit3" {
		os.Exit(3)
	}
	runtime.KeepAlive(goKeep)
}
