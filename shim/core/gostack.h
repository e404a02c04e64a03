/* gostack.h - continue a C stack into the Go frames that made the cgo call.
 *
 * libunwind stops at runtime.asmcgocall: the goroutine's frames are on
 * another stack. The layout this needs is read at start-up from the code of
 * runtime.asmcgocall itself (found through .symtab, or through .gopclntab in
 * a stripped binary), not from a table per Go release:
 *
 *   asmcgocall (switch path)        what is learnt
 *   mov %fs:T, %rdi                 T: g's TLS slot
 *   call gosave_systemstack_switch  in it, mov %rbp, B(%r14): g.sched.bp
 *   mov S(%rsi), %rsp               S: g.sched.sp (of g0)
 *   sub $K, %rsp; and $-16, %rsp    K: the frame asmcgocall makes on g0
 *   mov %rdi, G(%rsp)               G: where the goroutine's g is saved
 *   mov H(%rdi), %rdi; sub %rdx,%rdi; mov %rdi, D(%rsp)
 *                                   H: g.stack.hi; D: where stack.hi - SP is
 *   call *%rax  |  call landingpad (mov %rbx,%rdi; jmp *%rax)
 *                                   the return address every C stack of a
 *                                   cgo call ends with
 *
 * At a capture whose stack ends in that return address, the thread is on
 * g0's stack (g from TLS); asmcgocall's frame is at (g0.sched.sp - K) & -16,
 * which must hold that return address just below it; the goroutine's g and
 * its stack depth sit at G and D; the goroutine's saved frame pointer
 * (g.sched.bp) starts a frame-pointer chain through its Go frames, each
 * step checked against the goroutine's stack bounds (g.stack, offset 0).
 * Any check that fails, or code that does not match, leaves the stack ending
 * at asmcgocall, and the report's "go" line says why: never a guessed frame.
 *
 * This is linux/amd64 only, Go 1.19 to 1.23 checked (tests/integration/go). */
#ifndef CGOSHIM_GOSTACK_H
#define CGOSHIM_GOSTACK_H

#include "common.h"

/* Look for Go in the main executable; call once at start-up (constructor).
 * Reads the executable file; no malloc. Writes the status to status
 * (size bytes, NUL-terminated) for the report header. */
void cgs_go_init(char *status, size_t size);
/* Whether Go frames can be followed in this process. */
bool cgs_go_enabled(void);
/* If the innermost-first stack f[0..n) goes through runtime.asmcgocall,
 * replace what follows it by the Go frames (return addresses) up to max;
 * returns the new depth. */
int cgs_go_extend(uint64_t *f, int n, int max);

#endif
