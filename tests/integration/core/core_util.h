/* core_util.h - helpers shared by the core integration suites.
 *
 * Finding leak sites by the functions in their stacks, checking that no
 * frame belongs to the shim, running a program with an environment given
 * in full (for tests of the options themselves), and small text helpers.
 * The generic ones (jstr, msleep, skip, core_main, ...) are harness.h's
 * under the names these suites use. */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H

#include <stdbool.h>
#include <check.h>
#include <jansson.h>

#include "harness.h"

/* Whether any frame of site names function fn. */
bool site_has_fn(json_t *site, const char *fn);
/* First leak site of report whose frames name fn, or NULL. */
json_t *site_with_fn(json_t *report, const char *fn);
/* Sum of count and bytes over every site whose frames name fn. */
void sites_with_fn(json_t *report, const char *fn, long long *count, long long *bytes);
/* Sum of count and bytes over every site whose innermost frame is fn. */
void sites_at_fn(json_t *report, const char *fn, long long *count, long long *bytes);
/* Frames (of every site) whose module contains needle. */
int frames_in_module(json_t *report, const char *needle);
/* A string field of an object, or "". */
const char *jstr(json_t *obj, const char *key);
long long jint(json_t *obj, const char *key);

/* Lines in s (a final line without '\n' counts). */
int nlines(const char *s);
/* Lines of s that contain needle. */
int lines_with(const char *s, const char *needle);

/* Run argv with exactly the CGOSHIM_ variables in env (NULL-terminated;
 * "@DIR@" in a value becomes the report directory, which r->dir names
 * afterwards), LD_PRELOAD set to the shim when preload, nothing else
 * added. When want_final, wait up to 10 s for a JSON final report of the
 * program's pid and store it in r->final. */
int crun(const char *const argv[], const char *const env[], bool preload, bool want_final,
	 struct hrun *r);

/* Number of files in dir (not counting . and ..), -1 if unreadable. */
int files_in(const char *dir);
/* Number of report files (named r.*) in dir. */
int report_files(const char *dir);
/* Sleep ms milliseconds. */
void msleep(int ms);
/* Exit 77 with a message on stdout (a skip in meson). */
void skip(const char *why) __attribute__((noreturn));

/* One test case of a suite. need, when set, returns why the case cannot
 * run here (a missing tool), or NULL. */
struct core_case {
	const char *name;
	const TTest *test;
	const char *(*need)(void);
};

/* main() of a core test program. With no argument every case runs (each in
 * its own process, as check does by default). With a case name as argument
 * (how meson runs them) only that case runs, in this process, so that a
 * skip() inside it exits 77 and meson reports a skip. */
int core_main(int argc, char **argv, const char *suite, const struct core_case *cases, size_t n);

#endif
