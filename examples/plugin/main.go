// plugin: a Go host that loads a C plugin with dlopen and looks its entry
// point up with dlsym on every call, instead of once.
//
// A plugin host written in a hurry: the lookup is cheap-looking code, but a
// dlsym walks the loaded objects' hash tables each time. Under cgoshim the
// report shows dlopen once and dlsym as many times as the plugin was called,
// with dlsym's own latency next to the plugin's work.
//
// Usage: plugin [-n calls] [PLUGIN.so]   (or set DEMO_PLUGIN=PLUGIN.so)
package main

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef int (*score_fn)(int);
typedef const char *(*name_fn)(void);

static void *host_open(const char *path)
{
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static const char *host_error(void)
{
	const char *e = dlerror();
	return e ? e : "unknown dlopen error";
}

// Go cannot call a C function pointer itself: these trampolines do.
static int host_call_score(void *f, int x)
{
	return ((score_fn)f)(x);
}

static const char *host_call_name(void *f)
{
	return ((name_fn)f)();
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"unsafe"
)

func main() {
	n := flag.Int("n", 100000, "plugin calls (one dlsym each)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: plugin [-n calls] [PLUGIN.so]   (or DEMO_PLUGIN=PLUGIN.so)")
		flag.PrintDefaults()
	}
	flag.Parse()
	path := os.Getenv("DEMO_PLUGIN")
	if flag.NArg() > 0 {
		path = flag.Arg(0)
	}
	if path == "" || *n <= 0 {
		flag.Usage()
		os.Exit(2)
	}

	cpath := C.CString(path)
	h := C.host_open(cpath)
	C.free(unsafe.Pointer(cpath))
	if h == nil {
		fmt.Fprintln(os.Stderr, "plugin:", C.GoString(C.host_error()))
		os.Exit(1)
	}

	cname := C.CString("plugin_name")
	fname := C.dlsym(h, cname)
	C.free(unsafe.Pointer(cname))
	if fname == nil {
		fmt.Fprintln(os.Stderr, "plugin:", C.GoString(C.host_error()))
		os.Exit(1)
	}
	name := C.GoString(C.host_call_name(fname))

	cscore := C.CString("plugin_score")
	sum := 0
	for i := 0; i < *n; i++ {
		f := C.dlsym(h, cscore)
		if f == nil {
			fmt.Fprintln(os.Stderr, "plugin:", C.GoString(C.host_error()))
			os.Exit(1)
		}
		sum += int(C.host_call_score(f, C.int(i)))
	}
	C.free(unsafe.Pointer(cscore))
	C.dlclose(h)
	fmt.Printf("plugin: %s: %d calls, checksum %d\n", name, *n, sum)
}
