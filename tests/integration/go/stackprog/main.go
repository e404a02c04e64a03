// stackprog: leaks from Go through two cgo entries, to show what the leak
// sites' stacks look like past runtime.asmcgocall
// (tests/integration/go/test_go_stacks.c):
//   - C.CString: 7 strings of 77 bytes with the NUL, never freed;
//   - C.my_func: a C function of the preamble that mallocs 55 bytes, 5 times;
//     cgo compiles the preamble with -O2, so GCC may inline my_func into its
//     cgo wrapper _cgo_<hash>_Cfunc_my_func;
//   - C.my_func_noinline: the same, 3 times 33 bytes, kept out of line. It
//     prints the lines Go's runtime.Callers gives for its call of
//     C.my_func_noinline and for main's call of it: the leak site's Go
//     frames must name the same lines.
package main

/*
#include <stdlib.h>
#include <string.h>

static void *kept[16];
static int nkept;

static void *my_func(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 1, n);
	kept[nkept++ & 15] = p;
	return p;
}

static int malloc_line;

__attribute__((noinline)) static void *my_func_noinline(size_t n)
{
	malloc_line = __LINE__ + 1;
	void *p = malloc(n);
	memset(p, 2, n);
	kept[nkept++ & 15] = p;
	return p;
}

static int get_malloc_line(void) { return malloc_line; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
)

// The line of the caller's call of line(), as runtime.Callers says.
func line() int {
	pcs := make([]uintptr, 1)
	runtime.Callers(2, pcs)
	f, _ := runtime.CallersFrames(pcs).Next()
	return f.Line
}

func leakStrings() {
	for i := 0; i < 7; i++ {
		C.CString(strings.Repeat("s", 76))
	}
}

func leakMyFunc() {
	for i := 0; i < 5; i++ {
		C.my_func(55)
	}
}

func leakNoinline() {
	pcs := make([]uintptr, 2)
	n := runtime.Callers(2, pcs)
	caller, _ := runtime.CallersFrames(pcs[:n]).Next()
	at := 0
	for i := 0; i < 3; i++ {
		C.my_func_noinline(C.size_t(33 + 0*line())); at = line()
	}
	fmt.Printf("runtime.Callers: leakNoinline %d %s %d\n", at, caller.Function, caller.Line)
	fmt.Printf("C: my_func_noinline malloc at %d\n", int(C.get_malloc_line()))
}

func main() {
	leakStrings()
	leakMyFunc()
	leakNoinline()
	fmt.Println("stackprog: done")
}
