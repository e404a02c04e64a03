// sigprog: a Go program for the signal tests (tests/integration/go/test_go_signals.c).
//
// It calls into C (malloc, free, read of /dev/zero) for -d after writing
// -ready, so that live reports have something to show. With -notify it
// asks for SIGUSR2 with signal.Notify, counts the signals it receives, and
// prints "received N" at the end: the shim must not take them away.
package main

/*
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int open_zero(void)
{
	return open("/dev/zero", O_RDONLY | O_CLOEXEC);
}

static int work(int fd)
{
	char buf[64];
	void *p = malloc(100);
	ssize_t k = read(fd, buf, sizeof(buf));
	free(p);
	return (int)k;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	notify := flag.Bool("notify", false, "receive SIGUSR2 with signal.Notify and count it")
	ready := flag.String("ready", "", "file to create once set up")
	d := flag.Duration("d", 2*time.Second, "how long to run after -ready")
	flag.Parse()

	got := make(chan int)
	if *notify {
		ch := make(chan os.Signal, 64)
		signal.Notify(ch, syscall.SIGUSR2)
		go func() {
			n := 0
			for {
				select {
				case <-ch:
					n++
				case got <- n:
					return
				}
			}
		}()
	}

	fd := C.open_zero()
	if fd < 0 {
		fmt.Fprintln(os.Stderr, "sigprog: cannot open /dev/zero")
		os.Exit(1)
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte("ready\n"), 0600); err != nil {
			fmt.Fprintln(os.Stderr, "sigprog:", err)
			os.Exit(1)
		}
	}
	end := time.Now().Add(*d)
	calls := 0
	for time.Now().Before(end) {
		if C.work(fd) != 64 {
			fmt.Fprintln(os.Stderr, "sigprog: short read")
			os.Exit(1)
		}
		calls++
		time.Sleep(time.Millisecond)
	}
	if *notify {
		// Let signals still in flight arrive before counting.
		time.Sleep(200 * time.Millisecond)
		fmt.Printf("received %d\n", <-got)
	}
	fmt.Printf("sigprog: %d calls\n", calls)
}
