// execprog: a Go program that runs exec.Command(PROG) -n times, one after
// the other (tests/integration/go/test_go_children.c). Go's os/exec starts
// each child with a raw clone(CLONE_VFORK|CLONE_VM) and execve: no fork
// handler runs, and every child inherits LD_PRELOAD.
package main

/*
#include <stdlib.h>

static void *remember(size_t n) { return malloc(n); }
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	n := flag.Int("n", 1000, "children to run")
	prog := flag.String("prog", "/bin/true", "program each child runs")
	flag.Parse()
	// One C allocation of a sentinel size, so that the parent's report
	// can be told apart from its children's.
	C.remember(4242)
	for i := 0; i < *n; i++ {
		if err := exec.Command(*prog).Run(); err != nil {
			fmt.Fprintf(os.Stderr, "execprog: child %d: %v\n", i, err)
			os.Exit(1)
		}
	}
	fmt.Printf("execprog: %d children\n", *n)
}
