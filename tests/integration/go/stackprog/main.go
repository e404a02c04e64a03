// stackprog: leaks from Go through two cgo entries, to show what the leak
// sites' stacks look like past runtime.asmcgocall
// (tests/integration/go/test_go_stacks.c):
//   - C.CString: 7 strings of 77 bytes with the NUL, never freed;
//   - C.my_func: a C function of the preamble that mallocs 55 bytes, 5 times;
//     cgo compiles the preamble with -O2, so GCC may inline my_func into its
//     cgo wrapper _cgo_<hash>_Cfunc_my_func;
//   - C.my_func_noinline: the same, 3 times 33 bytes, kept out of line.
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

__attribute__((noinline)) static void *my_func_noinline(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 2, n);
	kept[nkept++ & 15] = p;
	return p;
}
*/
import "C"

import (
	"fmt"
	"strings"
)

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
	for i := 0; i < 3; i++ {
		C.my_func_noinline(33)
	}
}

func main() {
	leakStrings()
	leakMyFunc()
	leakNoinline()
	fmt.Println("stackprog: done")
}
