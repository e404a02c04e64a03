// cstring-leak: a request loop that leaks one C.CString per request.
//
// Each request builds a C request from its line (C.CString, freed), parses
// it in C (malloc/strdup, freed by req_free), uses a scratch buffer
// (C.malloc, freed), and hands an audit message to a C logging function
// that keeps the pointer: nobody frees that C.CString, the classic cgo leak.
// A C-side session cache also keeps one small string per 10 requests
// (reachable, but still live memory that a leak report shows).
//
// The audit message is 122 bytes, so each leaked C.CString is 123 bytes with
// its NUL: after N requests the report's site for C.CString holds exactly N
// allocations and 123*N bytes. Go's garbage collector never sees C memory
// and Go's heap profile shows none of it.
//
// -exit chooses how the program ends after the last request, to check that
// the final report survives every way a Go program can die:
//
//	return    return from main (exit status 0)
//	osexit    os.Exit(3)
//	panic     an unrecovered panic (exit status 2, trace on stderr)
//	logfatal  log.Fatalf (exit status 1)
//	sigterm   kill itself with SIGTERM (the Go runtime re-raises it)
//	sigkill   kill itself with SIGKILL
//
// Usage: cstring-leak [-n requests] [-exit mode]
package main

/*
#include <stdlib.h>
#include <string.h>

struct request {
	char *method;
	char *path;
	size_t body_len;
};

// req_parse splits "METHOD PATH" into a request. Returns NULL on a bad line.
static struct request *req_parse(const char *line)
{
	const char *sp = strchr(line, ' ');
	if (!sp)
		return NULL;
	struct request *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->method = strndup(line, (size_t)(sp - line));
	r->path = strdup(sp + 1);
	r->body_len = strlen(r->path) * 3;
	return r;
}

static void req_free(struct request *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	free(r);
}

// audit_log queues a message for a background writer that was never
// written: it keeps the pointer and so owns the memory - but the queue is
// dropped, so the message is never freed.
static const char *audit_last;
static size_t audit_log(const char *msg)
{
	audit_last = msg;
	return strlen(msg);
}

// session_remember keeps a copy of the session id in a small C cache that
// lives as long as the process; session_known looks an id up.
static char *sessions[4096];
static unsigned nsessions;
static void session_remember(const char *id)
{
	if (nsessions < sizeof(sessions) / sizeof(sessions[0]))
		sessions[nsessions++] = strdup(id);
}

static int session_known(const char *id)
{
	for (unsigned i = 0; i < nsessions; i++)
		if (sessions[i] && !strcmp(sessions[i], id))
			return 1;
	return 0;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// auditLen is the length of every audit message without its NUL.
const auditLen = 122

func auditMessage(i int) string {
	m := fmt.Sprintf("audit: request %06d served by worker 1, client 203.0.113.7, status 200, ", i)
	return m + strings.Repeat(".", auditLen-len(m))
}

func serve(i int) {
	line := C.CString(fmt.Sprintf("GET /item/%d", i))
	defer C.free(unsafe.Pointer(line))
	req := C.req_parse(line)
	if req == nil {
		log.Fatalf("cstring-leak: cannot parse request %d", i)
	}
	defer C.req_free(req)

	scratch := C.malloc(C.size_t(req.body_len) + 1)
	C.memset(scratch, 'x', C.size_t(req.body_len))
	C.free(scratch)

	id := C.CString(fmt.Sprintf("session-%08d", i-i%10))
	if C.session_known(id) == 0 {
		C.session_remember(id)
	}
	C.free(unsafe.Pointer(id))

	// The leak: audit_log keeps the pointer, and nobody ever frees it.
	C.audit_log(C.CString(auditMessage(i)))
}

func main() {
	n := flag.Int("n", 1000, "requests to serve")
	mode := flag.String("exit", "return", "how to end: return, osexit, panic, logfatal, sigterm, sigkill")
	flag.Parse()
	switch *mode {
	case "return", "osexit", "panic", "logfatal", "sigterm", "sigkill":
	default:
		fmt.Fprintf(os.Stderr, "cstring-leak: unknown -exit mode %q\n", *mode)
		os.Exit(2)
	}
	log.SetFlags(0)

	for i := 0; i < *n; i++ {
		serve(i)
	}
	fmt.Printf("cstring-leak: served %d requests\n", *n)

	switch *mode {
	case "osexit":
		os.Exit(3)
	case "panic":
		panic(fmt.Sprintf("cstring-leak: giving up after %d requests", *n))
	case "logfatal":
		log.Fatalf("cstring-leak: fatal after %d requests", *n)
	case "sigterm", "sigkill":
		sig := syscall.SIGTERM
		if *mode == "sigkill" {
			sig = syscall.SIGKILL
		}
		syscall.Kill(os.Getpid(), sig)
		time.Sleep(30 * time.Second)
		fmt.Fprintf(os.Stderr, "cstring-leak: still alive 30 s after %v\n", sig)
		os.Exit(99)
	}
}
