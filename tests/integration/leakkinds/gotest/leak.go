// Package gotest: a cgo bridge whose test leaks one C.CString
// (test_kinds.py, case go-test: go test -exec 'cgoshim --fail-on-leak --').
package gotest

// #include <stdlib.h>
import "C"

import "unsafe"

// Greeting copies s to C memory and back; with leak, it forgets to free.
//
//go:noinline
func Greeting(s string, leak bool) string {
	p := C.CString(s)
	out := C.GoString(p)
	if !leak {
		C.free(unsafe.Pointer(p))
	}
	return out
}
