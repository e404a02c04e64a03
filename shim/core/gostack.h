/* gostack.h - continue a C stack into the Go frames that made the cgo call.
 *
 * libunwind stops at runtime.asmcgocall: the goroutine's frames are on
 * another stack. In a cgo call, the thread runs on its g0 stack and the
 * goroutine that called is m->curg, whose saved frame pointer (g.sched.bp,
 * stored by asmcgocall) starts a frame-pointer chain through the Go frames
 * (Go keeps frame pointers on amd64). This walks that chain, checking every
 * step against the goroutine's stack bounds.
 *
 * It needs the layout of runtime.g and runtime.m, which is only known here
 * for Go 1.19 (read from the binary's runtime.buildVersion); it also needs
 * the binary's symbol table (runtime.tlsg, runtime.asmcgocall). Any other
 * version, or a stripped binary, leaves stacks ending at asmcgocall: the
 * report still names the cgo entry. */
#ifndef CGOSHIM_GOSTACK_H
#define CGOSHIM_GOSTACK_H

#include "common.h"

/* Look for Go in the main executable; call once at start-up (constructor).
 * Reads the executable file; no malloc. */
void cgs_go_init(void);
/* Whether Go frames can be followed in this process. */
bool cgs_go_enabled(void);
/* A short description for the report header: "go1.19.8, frames followed",
 * "go1.21.0: layout unknown, stacks stop at asmcgocall", or no Go symbols. */
const char *cgs_go_status(void);
/* If the innermost-first stack f[0..n) ends in runtime.asmcgocall, append
 * the Go frames (return addresses) up to max; returns the new depth. */
int cgs_go_extend(uint64_t *f, int n, int max);

#endif
