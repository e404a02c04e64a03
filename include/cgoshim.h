/* cgoshim.h - the public interface of libcgoshim.so.
 *
 * A program does not need this header to be measured: preloading the library
 * is enough. The functions here let a program (or a Go program through cgo)
 * ask for a report without sending a signal, and find out whether it runs
 * under the shim. Resolve them with dlsym(RTLD_DEFAULT, ...) so that the
 * program also runs without the shim. */
#ifndef CGOSHIM_H
#define CGOSHIM_H

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library, e.g. "0.1.0". Never NULL. */
const char *cgoshim_version(void);

/* Ask for a live report, as the dump signal does. Async-signal-safe; returns
 * at once (the report is written by the shim's watcher process). Returns the
 * sequence number of the dump asked for (1, 2, ...), or -1 when the shim is
 * disabled in this process. */
long cgoshim_dump(void);

/* Ask for a live report and wait until it is written, at most timeout_ms
 * milliseconds. Returns 0 when written, -1 on timeout or when disabled. */
int cgoshim_dump_wait(int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
