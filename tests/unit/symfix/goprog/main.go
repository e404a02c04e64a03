// main.go - Go fixture for test_symbols.c (built as symfix_go with
// `go build`, cgo enabled, together with inline.go). The test looks up
// main.leakLoop in the binary's symbol table and checks that the symboliser
// names it, with this file and the line of its `func` declaration. Nothing
// runs it.
package main

/*
#include <stdlib.h>
*/
import "C"

import "fmt"

//go:noinline
func leakLoop(n int) uintptr {
	var last uintptr
	for i := 0; i < n; i++ {
		last = uintptr(C.malloc(C.size_t(16 + i)))
	}
	return last
}

func main() {
	fmt.Println(leakLoop(3) != 0, sizes(3))
}
