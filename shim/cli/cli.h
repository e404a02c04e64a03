/* cli.h - the report subcommands of the cgoshim command: diff, merge, html.
 *
 * They read JSON reports ("cgoshim/1") written by the library and run in the
 * launcher's process only; nothing here is linked into libcgoshim.so (they
 * use jansson, which the preload library must not depend on).
 *
 * Each entry point takes the arguments from the subcommand's name on
 * (argv[0] is "diff", "merge" or "html") and returns the exit status:
 * 0 success; for diff 1 when a threshold is crossed; 2 for a usage or input
 * error, after one line on stderr that names the command and the file. */
#ifndef CGOSHIM_CLI_H
#define CGOSHIM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define CGS_CLI_USAGE 2

/* Relative error bound of a reported quantile (hist.h): 1/64. */
#define CGS_CLI_QERR (1.0 / 64.0)

/* ---- cli_diff.c: the commands ------------------------------------------ */
int cgs_cli_diff(int argc, char **argv);

/* diff's options, shared by its one-report-per-side mode (cli_diff.c) and
 * its repeated-runs mode (cli_diffrun.c). Quantiles: p50, p99, p99.9. */
struct cgs_diff_args {
	bool has_q[3];
	double max_q[3];     /* fractions: 0.10 for 10% */
	bool has_leak;
	uint64_t max_leak;
	bool leak_all;       /* --leak-growth-kinds=all: every live block, not the lost kinds */
	bool json;
	int top;
	uint64_t min_count;
	const char **fns;
	size_t nfns;
	double alpha;        /* runs: significance level (0.05) */
	bool force;          /* compare reports of different programs */
	bool has_floor;      /* one report per side: --noise-floor given */
	double floor;        /* ... its value, a fraction */
};
/* Whether a report's leaks carry kinds from a scan (kinds_source "scan" or
 * "last_scan"), and its lost blocks: definitely + indirectly + possibly lost,
 * what = "count" or "bytes" (README "Leak kinds"). */
bool cgs_cli_kinds_known(const json_t *leaks);
uint64_t cgs_cli_lost(const json_t *leaks, const char *what);
/* The "calls" entry of fn in a report, or NULL. */
const json_t *cgs_cli_find_call(const json_t *r, const char *fn);
/* Whether --fn selects fn (all when none given). */
bool cgs_cli_fn_selected(const struct cgs_diff_args *o, const char *fn);
/* cli_diffrun.c: BASE runs against NEW runs (files or directories). */
int cgs_cli_diff_runs(const struct cgs_diff_args *o, char **base, size_t nbase, char **nw, size_t nnew);
int cgs_cli_merge(int argc, char **argv);

/* ---- cli_html.c --------------------------------------------------------- */
int cgs_cli_html(int argc, char **argv);

/* ---- cli_diff.c: helpers shared with cli_html.c ------------------------- */

/* "cgoshim CMD: message" as one line on stderr, in one write. */
void cgs_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read the report in path ("-" for stdin) and check the parts of the schema
 * the commands use. A file that holds several reports (dumps appended as JSON
 * Lines) gives its last one; reports of several processes are refused (merge
 * them first). NULL after one line on stderr "cgoshim CMD: PATH: why". */
json_t *cgs_cli_load(const char *cmd, const char *path);

/* Every report in path, checked, appended to *v (*n entries, realloc'd).
 * -1 after one line on stderr. */
int cgs_cli_load_all(const char *cmd, const char *path, json_t ***v, size_t *n);

/* An integer member (0 when absent or not a number). */
uint64_t cgs_cli_u64(const json_t *obj, const char *key);
/* A string member, or "" (never NULL). */
const char *cgs_cli_str(const json_t *obj, const char *key);

/* "12.3us", "4.1ms", "950ns" into buf (>= 24 bytes). */
const char *cgs_cli_ns(uint64_t ns, char *buf, size_t cap);
/* "1.5 MiB", "800 B". */
const char *cgs_cli_bytes(double bytes, char *buf, size_t cap);

/* A frame's display name: its function, else module+addr, else its addr. */
const char *cgs_cli_frame_name(const json_t *frame, char *buf, size_t cap);
/* "file:line", "file" or "" into buf. */
const char *cgs_cli_frame_where(const json_t *frame, char *buf, size_t cap);

/* Lower bound (ns) of the histogram bucket whose last value is le_ns, in a
 * report whose TSC rate is ns_per_tick (hist.h's bucket layout). */
double cgs_cli_bucket_lo(uint64_t le_ns, double ns_per_tick);

#endif
