// goprog: the Go (cgo) program of the attach tests; the same protocol as
// phases.c ("work N K", "free", "quit"), the work done in C through cgo,
// while goroutines keep the Go runtime busy on other threads.
package main

/*
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void *kept[100000];
static int nkept;
void *volatile sink;

static int work(int n, int k)
{
	int fd = open("/dev/zero", O_RDONLY);
	char c;
	for (int i = 0; i < n; i++) {
		if (read(fd, &c, 1) != 1)
			return -1;
		void *p = malloc(k);
		if (p && nkept < 100000)
			kept[nkept++] = p;
		sink = p;
	}
	close(fd);
	return n;
}

static void free_all(void)
{
	for (int i = 0; i < nkept; i++)
		free(kept[i]);
	nkept = 0;
}
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

var spin uint64

func main() {
	// Busy goroutines: threads in Go code when the attach stops them.
	for i := 0; i < 4; i++ {
		go func() {
			for {
				b := make([]byte, 256)
				spin += uint64(len(b))
				if spin%1000000 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	go func() {
		for {
			time.Sleep(time.Millisecond)
		}
	}()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := in.Text()
		var n, k int
		if _, err := fmt.Sscanf(line, "work %d %d", &n, &k); err == nil {
			fmt.Printf("done %d\n", int(C.work(C.int(n), C.int(k))))
		} else if strings.HasPrefix(line, "free") {
			C.free_all()
			fmt.Println("freed")
		} else if strings.HasPrefix(line, "quit") {
			os.Exit(7)
		}
	}
}
