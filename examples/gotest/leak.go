// Package gotest: a cgo package whose test leaks, to measure with
// `go test -exec 'cgoshim ... --'` (see README.md).
// Keep grows the C heap by n blocks of size bytes, never freed.
package gotest

/*
#include <stdlib.h>
#include <string.h>

static void *kept[64];
static int nkept;

__attribute__((noinline)) static void *keep_block(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 3, n);
	kept[nkept++ & 63] = p;
	return p;
}
*/
import "C"

// Keep makes n C allocations of size bytes that are never freed.
func Keep(n, size int) int {
	made := 0
	for i := 0; i < n; i++ {
		if C.keep_block(C.size_t(size)) != nil { // LINE:keep
			made++
		}
	}
	return made
}
