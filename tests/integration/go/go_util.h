/* go_util.h - helpers shared by the Go integration tests.
 *
 * The Go programs under test are built by `go build` when meson found a Go
 * toolchain (examples/meson.build); without one every case exits 77 with a
 * message. Examples are found through CGOSHIM_TEST_EXAMPLES, this folder's
 * helpers through CGOSHIM_TEST_BINDIR (hbin). */
#ifndef GO_UTIL_H
#define GO_UTIL_H

#include <stdbool.h>
#include <check.h>
#include <jansson.h>

#include "harness.h"

/* Exit 77 (a skip in meson) with a message when go was not found. */
void go_require(void);
/* Path of an example program built in CGOSHIM_TEST_EXAMPLES. */
const char *go_example(const char *name);

/* A string field of an object, or ""; an integer field, or -1. */
const char *jstr(json_t *obj, const char *key);
long long jint(json_t *obj, const char *key);
bool ends_with(const char *s, const char *suffix);

/* Sum of count and bytes over the leak sites whose "cgo" contains needle;
 * returns how many such sites there are. */
int cgo_sites(json_t *report, const char *needle, long long *count, long long *bytes);
/* The first leak site with exactly this count and bytes, or NULL. */
json_t *site_sized(json_t *report, long long count, long long bytes);
/* Print a leak site (count, bytes, cgo, one line per frame) on stdout. */
void print_site(const char *title, json_t *site);

/* Wait until path exists, for up to timeout_ms; true if it does. */
bool wait_file(const char *path, int timeout_ms);
void msleep(int ms);
/* "exited 3", "killed by signal 9 (Killed)"... in a static buffer. */
const char *status_str(int status);

/* One test case of a program. */
struct go_case {
	const char *name;
	const TTest *test;
};

/* main() of a Go test program. With a case name as argument (how meson
 * runs them) only that case runs; with none, all of them. Skips with 77
 * when go was not found. */
int go_main(int argc, char **argv, const char *suite, const struct go_case *cases, size_t n);

#endif
