/* harness.h - run a program under libcgoshim.so and read its reports.
 *
 * Shared by the integration tests (check suites). The library, launcher and
 * helper programs are found through environment variables that meson sets:
 *   CGOSHIM_TEST_LIB       path of libcgoshim.so
 *   CGOSHIM_TEST_LAUNCHER  path of the cgoshim launcher
 *   CGOSHIM_TEST_BINDIR    directory of the test helper programs
 * Reports are JSON files in a fresh temporary directory per run.
 *
 * Also the pieces every suite's helpers share (tests/stress/rel.c,
 * tests/integration/core/core_util.c): running any program with its output
 * captured, listing and waiting for reports, and a main() that runs one
 * named check case per meson test. */
#ifndef CGOSHIM_TEST_HARNESS_H
#define CGOSHIM_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <check.h>
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

/* A string member of obj, or "". */
const char *hjstr(json_t *obj, const char *key);
/* An integer member of obj, or -1. */
long long hjint(json_t *obj, const char *key);
/* The "calls" entry of fn in a report, or NULL. */
json_t *hcall(json_t *report, const char *fn);
/* Its count (0 when absent). */
long long hcount(json_t *report, const char *fn);
/* A number at a path like "leaks.count" (objects only); -1 if absent. */
long long hnum(json_t *report, const char *path);

/* WIFEXITED && status == code. */
bool hexited(const struct hrun *r, int code);

/* ---- the pieces hrun is made of, shared with the other suites' helpers ---- */

/* Seconds on the monotonic clock. */
double hnow(void);
/* Sleep ms milliseconds (through signals). */
void hmsleep(int ms);
/* Print why on stdout and exit 77 (meson: skipped). */
void hskip(const char *why) __attribute__((noreturn));

/* How hspawn runs a program. The environment is this process's without
 * LD_PRELOAD and CGOSHIM_* (the harness's own settings never leak into a
 * run), then env (NULL-terminated "NAME=VALUE", may be NULL). */
struct hspawn {
	const char *const *env;
	bool search_path;        /* argv[0] may be a name looked up in PATH */
	bool own_group;          /* a process group of its own, killed whole on a timeout */
	const char *cwd;         /* run there, or NULL */
	const char *in_file;     /* stdin from this file, or NULL: a pipe fed stdin_data */
	const char *stdin_data;  /* may be NULL (stdin then reads end of file) */
	int timeout_s;           /* kill the program after this; 0 = 60 (counted after during) */
	int (*during)(int pid, void *arg);      /* called once the program runs; may signal it */
	void (*on_timeout)(int pid, void *arg); /* called before the kill */
	void *arg;
};

struct hproc {
	int pid;
	int status;              /* wait status */
	char *out, *err;         /* captured stdout and stderr (NUL-terminated) */
	size_t out_len, err_len;
	bool timed_out;
	double seconds;          /* from the fork until the program exited and closed its output */
};

/* Run argv as o says, capture its output and reap it. Returns 0, or -1 on a
 * harness error or a timeout (timed_out set). Free p with hproc_free. */
int hspawn(const char *const argv[], const struct hspawn *o, struct hproc *p);
void hproc_free(struct hproc *p);

/* Paths of the report files (r.*) in dir, sorted by name (version order:
 * r.PID.N); *n set. Free with hnames_free. */
char **hreport_names(const char *dir, size_t *n);
void hnames_free(char **v, size_t n);
/* Files in dir whose names start with prefix ("" for all), not counting
 * . and ..; -1 if dir cannot be read. */
int hfiles(const char *dir, const char *prefix);

/* Wait up to timeout_ms for a final report in dir from pid (any pid when
 * pid <= 0); returns the first in name order, parsed, or NULL. */
json_t *hwait_final(const char *dir, int pid, int timeout_ms);

/* One check case of a test program: need, when set, returns why the case
 * cannot run here (a missing tool), or NULL. */
struct hcase {
	const char *name;
	const TTest *test;
	const char *(*need)(void);
	int timeout_s;           /* 0: CK_DEFAULT_TIMEOUT */
};

/* main() of a test program. With no argument every case runs (each in its
 * own process, as check does by default). With a case name as argument
 * (how meson runs them) only that case runs, in this process, so that a
 * skip inside it exits 77 and meson reports a skip. */
int hmain(int argc, char **argv, const char *suite, const struct hcase *cases, size_t n);

#endif
