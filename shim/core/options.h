/* options.h - the options table, read once from CGOSHIM_* variables.
 *
 * Every option has a default; a malformed or out-of-range value gets one line
 * on stderr naming the variable, the value and the default used instead. The
 * parsed table is stored in the shared region and printed in every report's
 * header. Parsing never allocates (it runs from the first interposed call). */
#ifndef CGOSHIM_OPTIONS_H
#define CGOSHIM_OPTIONS_H

#include "common.h"
#include "spawnproto.h"

#define CGS_OUTPUT_MAX 256
#define CGS_TOPOLOGY_MAX 128

enum cgs_format { CGS_FMT_TEXT, CGS_FMT_JSON, CGS_FMT_FOLDED, CGS_FMT_PPROF, CGS_FMT_OPENMETRICS,
		  CGS_FMT_CHROME };

/* Shortest CGOSHIM_INTERVAL accepted (0 = off). */
#define CGS_INTERVAL_MIN_NS 10000000ULL

struct cgs_options {
	bool disable;        /* CGOSHIM_DISABLE=1: pass every call through */
	bool leaks;          /* CGOSHIM_LEAKS (default 1) */
	bool targets;        /* CGOSHIM_TARGETS (default 1): split by file */
	bool children;       /* CGOSHIM_CHILDREN (default 1) */
	bool launcher;       /* CGOSHIM_LAUNCHER=1: started by the cgoshim command */
	int format;          /* CGOSHIM_FORMAT: text|json|folded|pprof|openmetrics|chrome */
	int signal;          /* CGOSHIM_SIGNAL: 0 = none; default SIGUSR2 */
	int stack_depth;     /* CGOSHIM_STACK_DEPTH: 1..64, default 16 */
	int unwind;          /* CGOSHIM_UNWIND: fast (default) | libunwind | compare (fastunwind.h) */
	int top;             /* CGOSHIM_TOP: leak sites in the text report, default 20 */
	int target_rows;     /* CGOSHIM_TARGET_ROWS: target rows per kind in a report, default 30 */
	uint64_t min_age_ns; /* CGOSHIM_MIN_AGE: only leaks at least this old */
	uint64_t memory;     /* CGOSHIM_MEMORY: bytes of address space for the shim's state */
	uint64_t slow_ns;    /* CGOSHIM_SLOW_NS */
	uint32_t ring_events; /* CGOSHIM_RING_EVENTS: records per NUMA node's ring */
	char numa_topology[CGS_TOPOLOGY_MAX]; /* CGOSHIM_NUMA_TOPOLOGY (testing): "" = the kernel's */
	uint64_t interval_ns; /* CGOSHIM_INTERVAL: a live dump every this long; 0 = off */
	uint64_t exit_wait_ns; /* CGOSHIM_EXIT_WAIT: how long an exit through libc waits for
				* the final report to be on disk; 0 = no wait; default 10 s */
	bool interval_delta;  /* CGOSHIM_INTERVAL_MODE=delta: interval reports show what happened since the last one */
	char output[CGS_OUTPUT_MAX]; /* CGOSHIM_OUTPUT: "" = stderr, "-" = stdout */
	/* CGOSHIM_SYMBOL_CACHE: the watcher's symbol cache directory; by default
	 * $XDG_CACHE_HOME/cgoshim or $HOME/.cache/cgoshim (read here: the watcher
	 * runs with an empty environment); 0 or "" = none. */
	char symbol_cache[CGS_OUTPUT_MAX];
	uint32_t output_mode; /* CGOSHIM_OUTPUT_MODE: report files' mode, default 0600 */
	int32_t main_pid;     /* CGOSHIM_MAIN_PID (set by the launcher): the program it started */
	bool leak_kinds;     /* CGOSHIM_LEAK_KINDS (default 1): scan for reachability */
	bool suppress_defaults; /* CGOSHIM_SUPPRESS_DEFAULTS (default 1): the built-in list */
	char suppress[CGS_OUTPUT_MAX]; /* CGOSHIM_SUPPRESS: LSan suppression file; "" = none */
	char verdict_dir[CGS_OUTPUT_MAX]; /* CGOSHIM_VERDICT_DIR (set by the launcher): a
	                                   * final report's leak verdict goes to DIR/PID.N */
	char only[CGS_OUTPUT_MAX];   /* CGOSHIM_ONLY: glob of the executables measured; "" = all */
	char listen[64];      /* CGOSHIM_LISTEN: "ADDR:PORT" the watcher serves HTTP on; "" = off */
	char spawn[CGS_SPAWN_NAME_MAX]; /* CGOSHIM_SPAWN (set by the launcher): the watcher spawn
					 * server's abstract socket name (spawn.c); "" = none */
};

/* Fill *o from envp (NULL-terminated "NAME=VALUE" strings; NULL for none).
 * Reports bad values with cgs_log unless quiet. */
void cgs_options_parse(struct cgs_options *o, char *const *envp, bool quiet);

/* Parsers shared with the launcher and tests: 0 on success, -1 when malformed. */
int cgs_parse_bool(const char *s, bool *out);
int cgs_parse_u64(const char *s, uint64_t *out);
int cgs_parse_size(const char *s, uint64_t *out);     /* 4096, 64K, 8M, 16G */
int cgs_parse_duration(const char *s, uint64_t *ns); /* 250ms, 10s, 2m, 1h; plain = seconds */
int cgs_parse_signal(const char *s, int *sig);       /* USR2, SIGUSR2, 12, RTMIN+3, none */
/* CGOSHIM_LISTEN: "PORT", ":PORT" (loopback), "IPV4:PORT" or "[IPV6]:PORT",
 * numeric only, port 1 to 65535. Fills family (AF_INET, AF_INET6), the
 * address (4 or 16 bytes, network order) and port (host order). */
int cgs_parse_listen(const char *s, int *family, unsigned char addr[16], unsigned *port);
const char *cgs_format_name(int fmt);
const char *cgs_unwind_name(int mode);

/* The one validation of a CGOSHIM_* variable, shared by the library and
 * the launcher: NULL when value is good for var ("CGOSHIM_SIGNAL"), else
 * why not, in the words the library's warning uses (the library then keeps
 * the default; the launcher refuses the value). *note, when note is not
 * NULL, gets a warning about a value that is used anyway, or NULL. */
const char *cgs_option_check(const char *var, const char *value, const char **note);
/* Whether an output template has an unknown placeholder (or a trailing %):
 * then bad holds it ("%x", or "%"). */
bool cgs_output_bad_placeholder(const char *tmpl, char bad[3]);
/* Shell-style glob: '*', '?', '[a-z]', '[!x]', '\\' quotes; no allocation
 * (unlike fnmatch with some locales), so usable in-process. */
bool cgs_glob_match(const char *pat, const char *s);
const char *cgs_signal_name(int sig, char buf[16]);

#endif
