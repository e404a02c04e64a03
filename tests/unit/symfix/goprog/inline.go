// inline.go - the inlined Go code of the Go fixture for test_symbols.c
// (built into symfix_go with main.go). The test looks through main.sizes
// for the code of main.allocSize, which the Go compiler inlines there: the
// chain must be [main.allocSize, main.sizes at the line of the call].
//
// This file does not import "C" on purpose: cgo rewrites a file that does
// with //line directives, and Go 1.19 writes DW_AT_call_line without them
// (golang/go#58648), so call lines there do not match the source.
package main

// Small enough for the Go compiler to inline.
func allocSize(i int) int {
	return 16 + i*3
}

//go:noinline
func sizes(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		total += allocSize(i)
	}
	return total
}
