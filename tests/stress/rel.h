/* rel.h - helpers shared by the reliability suites (stress, faults,
 * transparency): small JSON accessors, the report schema checker, waiting
 * for reports, and a main() that runs one named check case per meson test
 * so that a missing tool can skip with exit status 77. Running programs,
 * reading report directories and the main() are harness.h's (hspawn,
 * hreport_names, hwait_final, hmain); the rel_ names stay for the suites.
 *
 * Environment (set by meson):
 *   CGS_CHECK_JSON   path of tests/unit/check_json.py (the schema checker)
 *   REL_PYTHON       the python3 to run it with
 * plus the harness's own CGOSHIM_TEST_LIB and CGOSHIM_TEST_BINDIR. */
#ifndef CGOSHIM_TEST_REL_H
#define CGOSHIM_TEST_REL_H

#include <stdbool.h>
#include <stddef.h>
#include <check.h>
#include <jansson.h>

#include "harness.h"

#define REL_SENTINEL 31337

void rel_msleep(int ms);
double rel_now(void);
/* Print why on stdout and exit 77 (meson: skipped). */
void rel_skip(const char *why) __attribute__((noreturn));

const char *rel_jstr(json_t *obj, const char *key);
/* An integer member, or -1. */
long long rel_jint(json_t *obj, const char *key);

/* Sum of count (and bytes) over the leak sites of report whose blocks are
 * all exactly size bytes (bytes == count * size). */
long long rel_sites_of_size(json_t *report, long long size, long long *bytes);

/* Run the schema checker on the given files (in batches). Returns the
 * number of files it found fault with, 0 when all pass; its complaints are
 * copied to msg (truncated to cap). -1 when it cannot be run. */
int rel_check_json(char *const *files, size_t n, char *msg, size_t cap);

/* Names of the report files (r.*) in dir, sorted; *n set. Free with
 * rel_free_names. */
char **rel_report_names(const char *dir, size_t *n);
void rel_free_names(char **v, size_t n);

/* Wait up to timeout_ms for the final report of pid to appear in dir;
 * returns it parsed, or NULL. */
json_t *rel_wait_final(const char *dir, int pid, int timeout_ms);

/* Whether pid has exited (without reaping it). */
bool rel_exited(int pid);

/* Kill (SIGKILL) every cgoshim watcher process whose command line contains
 * needle (a unique argument of the program it watches, like a temporary
 * path). A watcher is a fork of the program, so it carries the program's
 * command line. Returns how many were still running. */
int rel_kill_watchers(const char *needle);

/* For a hang: print (to stdout) the stacks of every process whose command
 * line contains needle, with gdb when it is installed. */
void rel_print_stacks(const char *needle);
/* The same, also for every process in process group pgid (when > 0). */
void rel_print_stacks_of(const char *needle, int pgid);

/* Remove dir and everything in it (plain files only). */
void rel_rmdir(const char *dir);

/* Run argv (argv[0] a path or a name looked up in PATH) with its stdin
 * from in_file (or /dev/null), in directory cwd (or the current one), and
 * the environment environ plus extra (NULL-terminated "N=V", may be NULL),
 * without LD_PRELOAD unless extra sets it. Captures stdout and stderr.
 * Kills it (its process group) after timeout_s, first printing the stacks
 * of the processes whose command line holds hang_tag when that is set.
 * Returns 0, or -1 on a harness error or a timeout (timed_out set). */
struct rel_proc {
	int status;
	char *out, *err;
	size_t out_len, err_len;
	bool timed_out;
	double seconds;
};
int rel_run(const char *const argv[], const char *const extra[], const char *cwd, const char *in_file,
	    int timeout_s, const char *hang_tag, struct rel_proc *p);
void rel_proc_free(struct rel_proc *p);

/* One test case: a name (the meson test passes it as argv[1]), the check
 * test, and optionally why it cannot run here (NULL when it can). */
struct rel_case {
	const char *name;
	const TTest *test;
	const char *(*need)(void);
	int timeout_s; /* 0: CK_DEFAULT_TIMEOUT */
};

/* Run the named case (argv[1]) in this process (a skip exits 77), or every
 * case when no name is given. */
int rel_main(int argc, char **argv, const char *suite, const struct rel_case *cases, size_t n);

#endif
