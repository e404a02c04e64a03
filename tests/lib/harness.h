/* harness.h - run a program under libcgoshim.so and read its reports.
 *
 * Shared by the integration tests (check suites). The library, launcher and
 * helper programs are found through environment variables that meson sets:
 *   CGOSHIM_TEST_LIB       path of libcgoshim.so
 *   CGOSHIM_TEST_LAUNCHER  path of the cgoshim launcher
 *   CGOSHIM_TEST_BINDIR    directory of the test helper programs
 * Reports are JSON files in a fresh temporary directory per run. */
#ifndef CGOSHIM_TEST_HARNESS_H
#define CGOSHIM_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct hrun {
	int status;        /* wait status of the program */
	int pid;
	char dir[256];     /* where the reports went */
	char *out, *err;   /* captured stdout and stderr (NUL-terminated) */
	json_t *final;     /* the final report of the first process image, or NULL */
	size_t nreports;   /* report files found in dir */
};

struct hopts {
	const char *const *env;  /* extra "NAME=VALUE" entries, NULL-terminated, or NULL */
	bool no_preload;         /* run without the shim (for comparisons) */
	bool launcher;           /* run through the cgoshim launcher instead of LD_PRELOAD */
	const char *stdin_data;  /* fed to the program's stdin, or NULL (stdin is /dev/null) */
	int timeout_s;           /* kill the program after this; 0 = 60 */
	int (*during)(int pid, void *arg); /* called once the program runs; may signal it */
	void *arg;
};

/* Path of a helper program built by meson into CGOSHIM_TEST_BINDIR. */
const char *hbin(const char *name);

/* Run argv under the shim with CGOSHIM_FORMAT=json and CGOSHIM_OUTPUT set to
 * a temporary directory; wait for the program, then (unless no_preload)
 * wait up to 10 s for its final report. Returns 0, or -1 on a harness error
 * (a timeout kills the program and counts as an error). */
int hrun(const char *const argv[], const struct hopts *o, struct hrun *r);
void hrun_free(struct hrun *r);

/* Every report in r->dir, parsed, sorted by (pid, seq); *n set to the count.
 * Free with hreports_free. */
json_t **hreports(const struct hrun *r, size_t *n);
void hreports_free(json_t **v, size_t n);

/* The "calls" entry of fn in a report, or NULL. */
json_t *hcall(json_t *report, const char *fn);
/* Its count (0 when absent). */
long long hcount(json_t *report, const char *fn);
/* A number at a path like "leaks.count" (objects only); -1 if absent. */
long long hnum(json_t *report, const char *path);

/* WIFEXITED && status == code. */
bool hexited(const struct hrun *r, int code);

#endif
