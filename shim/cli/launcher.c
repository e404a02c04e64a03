/* launcher.c - the cgoshim command: run a program with libcgoshim.so preloaded.
 *
 *	cgoshim [OPTION]... [--] PROGRAM [ARG]...
 *
 * Design
 *
 * The library does the measuring; the launcher only sets the stage and then
 * waits long enough for the final reports to exist when it returns, so that
 * "cgoshim -o r -- prog; cat r" works in a script.
 *
 * 1. Options become CGOSHIM_* variables in the launcher's own environment, in
 *    command-line order (a later option wins; an option beats an inherited
 *    variable). The library is found (--lib, $CGOSHIM_LIB, next to our own
 *    executable, then CGOSHIM_LIBDIR), made absolute and put first in
 *    LD_PRELOAD. CGOSHIM_LAUNCHER=1 tells the library who started it.
 *
 * 2. The library starts, in every traced process image, a watcher named
 *    "cgoshim-watch" through an intermediate process that exits at once
 *    (shim/core/spawn.c; as PID 1 it stays). The watcher is an orphan, so it is
 *    adopted by the nearest child subreaper: we become one before forking
 *    the program, which makes every watcher of every descendant our child.
 *    (The program's own watcher starts those of the processes below it as
 *    its children, shim/core/spawnproto.h: they are our descendants, and
 *    our children once it has ended. We set CGOSHIM_SPAWN, the name it
 *    serves on, so that images exec'd below a process whose watcher has
 *    ended still find it.)
 *    Contract with the library: a watcher bears its name from its first
 *    instant (the intermediate process names itself before the second
 *    fork), else a short program can end, and be scanned for watchers,
 *    before its watcher has renamed itself.
 *
 * 3. While the program runs we forward the usual job-control and request
 *    signals to it (kill -USR2 on the launcher gives a live report), and reap
 *    adopted orphans as they die. A signal the terminal sent to the whole
 *    foreground group has reached the program already and is not sent twice.
 *
 * 4. When the program has ended we wait for the watchers that are writing a
 *    final report. A watcher that still watches a live process (a daemon the
 *    program left behind) will not finish before that process does, so we do
 *    not wait for it. We recognise one by what it holds open: a pidfd whose
 *    process is a live descendant of ours, or, if it holds no pidfd, the read
 *    end of a pipe whose write end a live descendant holds. A watcher showing
 *    neither is taken to be finishing. The wait is bounded (60 s, or
 *    $CGOSHIM_LAUNCHER_TIMEOUT seconds) and ends early on SIGINT, SIGTERM,
 *    SIGHUP or SIGQUIT. Other adopted orphans are reaped, never waited for.
 *
 * 5. We end the way the program ended: the same exit status, or the same
 *    signal raised on ourselves (with core dumps switched off, so that our
 *    core cannot overwrite the program's).
 *
 * Exit status: the program's; 2 for a usage error; 125 when the launcher
 * itself fails; 126 or 127 when the library or the program cannot be used.
 *
 * Every descriptor the launcher opens is close-on-exec, and none is open
 * while the program is started. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#if defined(__has_include)
#if __has_include("config.h")
#include "config.h"
#include "options.h"
#endif
#endif
/* Fallbacks for a hand build without meson's config.h. */
#ifndef CGOSHIM_LIBDIR
#define CGOSHIM_LIBDIR "/usr/local/lib/x86_64-linux-gnu"
#endif
#ifndef CGOSHIM_VERSION
#define CGOSHIM_VERSION "unknown (built without config.h)"
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include "attach.h"
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hold.h"
#include "options.h"

#define LIB_NAME "libcgoshim.so"
#define WATCHER_COMM "cgoshim-watch"
#define DEFAULT_WAIT_S 60.0
#define POLL_MS 100       /* rescan period while waiting for watchers */
#define SETTLE_MS 250     /* see drain_watchers() */
#define MAX_DESCENDANTS 65536

#define EXIT_USAGE 2
#define EXIT_FAILED 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

/* ------------------------------------------------------------------ messages */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "cgoshim: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	/* One write, so that lines of concurrent processes do not interleave. */
	ssize_t r = write(STDERR_FILENO, line, strlen(line));
	(void)r;
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msg("%s (try 'cgoshim --help')", text);
	exit(EXIT_USAGE);
}

static void *checked(void *p)
{
	if (!p) {
		msg("out of memory");
		exit(EXIT_FAILED);
	}
	return p;
}

static void *xmalloc(size_t n)
{
	return checked(malloc(n));
}

static void *xrealloc(void *p, size_t n)
{
	return checked(realloc(p, n));
}

/* ------------------------------------------------------------------- options */

static const char usage_text[] =
	"Usage: cgoshim [OPTION]... [--] PROGRAM [ARG]...\n"
	"   or: cgoshim attach [OPTION]... [--duration=T] PID\n"
	"   or: cgoshim diff BASE.json NEW.json [--max-p99-regress=10%]...\n"
	"   or: cgoshim merge REPORT.json... > merged.json\n"
	"   or: cgoshim html REPORT.json > report.html\n"
	"Run PROGRAM with libcgoshim.so preloaded: time its calls to read, open,\n"
	"ioctl, the malloc family, dlopen and dlsym, and report C-heap leaks.\n"
	"Child processes are traced too. cgoshim returns once the final reports\n"
	"are written, with PROGRAM's exit status.\n"
	"\n"
	"Options (each sets a variable in PROGRAM's environment):\n"
	"  -o, --output=TEMPLATE   report file name template, or - CGOSHIM_OUTPUT\n"
	"                          for cgoshim's stdout (see below)\n"
	"  -f, --format=FMT        text, json, folded, pprof,      CGOSHIM_FORMAT\n"
	"                          openmetrics or chrome\n"
	"      --interval=T        also report every T (e.g. 10s)  CGOSHIM_INTERVAL\n"
	"      --listen=ADDR:PORT  serve /metrics, /debug/cgoshim/heap (pprof) and\n"
	"                          /debug/cgoshim/report.json over HTTP from the\n"
	"                          watcher; ':PORT' is loopback  CGOSHIM_LISTEN\n"
	"      --interval-mode=M   cumulative (default) or delta: each interval report\n"
	"                          shows only what happened since the last one\n"
	"                          CGOSHIM_INTERVAL_MODE\n"
	"      --no-leaks          do not track C-heap leaks       CGOSHIM_LEAKS=0\n"
	"      --stack-depth=N     frames per stack, 1 to 64       CGOSHIM_STACK_DEPTH\n"
	"      --signal=SIG        live-report signal, or none     CGOSHIM_SIGNAL\n"
	"      --no-children       do not trace child processes    CGOSHIM_CHILDREN=0\n"
	"      --only=GLOB         measure only the executables    CGOSHIM_ONLY\n"
	"                          whose path or name matches GLOB\n"
	"                          ('*.test'); others run passive\n"
	"      --slow-ns=N         threshold of a slow call        CGOSHIM_SLOW_NS\n"
	"      --suppressions=FILE leak suppressions (LSan format) CGOSHIM_SUPPRESS\n"
	"      --fail-on-leak[=BYTES]  exit 23 when PROGRAM succeeded but a process\n"
	"                          lost more than BYTES (default 0) of C heap\n"
	"                          (definitely+indirectly lost, not suppressed)\n"
	"      --no-hold-exit      do not hold PROGRAM's exit for the final leak scan\n"
	"  -e, --env=NAME=VALUE    set any CGOSHIM_ variable\n"
	"      --lib=PATH          preload PATH instead of the installed library\n"
	"      --duration=T        attach: let go after T (e.g. 30s, 500ms); without\n"
	"                          it, at the process's end or on SIGINT\n"
	"  -h, --help              print this help and exit\n"
	"      --version           print the version and exit\n"
	"\n"
	"Variables read by the library:\n"
	"  CGOSHIM_DISABLE=0|1    1: pass every call through, measure nothing\n"
	"  CGOSHIM_OUTPUT=T       report file name template: %p pid, %n dump number,\n"
	"                         %% a %; empty or stderr: stderr; -: stdout\n"
	"  CGOSHIM_OUTPUT_MODE=M  mode of report files, octal (default 0600)\n"
	"  CGOSHIM_FORMAT=F       report format: text (default), json, folded, pprof,\n"
	"                         openmetrics or chrome\n"
	"  CGOSHIM_INTERVAL=T     also write a report every T, e.g. 10s (default 0: off)\n"
	"  CGOSHIM_SIGNAL=S       signal asking for a live report (default USR2; none)\n"
	"  CGOSHIM_LEAKS=0|1      track C-heap allocations, report leaks (default 1)\n"
	"  CGOSHIM_STACK_DEPTH=N  frames recorded per stack, 1 to 64 (default 16)\n"
	"  CGOSHIM_CHILDREN=0|1   trace child processes too (default 1)\n"
	"  CGOSHIM_ONLY=GLOB      measure only executables whose path or base name\n"
	"                         matches GLOB; the others pass every call through\n"
	"  CGOSHIM_MIN_AGE=T      report only leaks this old or older, e.g. 30s (0)\n"
	"  CGOSHIM_TOP=N          leak sites listed in a text report (default 20)\n"
	"  CGOSHIM_TARGET_ROWS=N  per-file rows per kind in a report; past it files are\n"
	"                         grouped by path pattern, the rest summed (default 30)\n"
	"  CGOSHIM_EXIT_WAIT=T    an exit through libc waits this long for the final\n"
	"                         report to be on disk (default 10s; 0: no wait)\n"
	"  CGOSHIM_MEMORY=SIZE    most memory the shim's state may use, 16M to 1T (default 8G)\n"
	"  CGOSHIM_SLOW_NS=T      a call this long is slow: ns, or 2ms... (default 1ms)\n"
	"  CGOSHIM_TARGETS=0|1    split I/O statistics by file (default 1)\n"
	"  CGOSHIM_UNWIND=M       stack walker: fast (default), libunwind, or compare\n"
	"                         (both, differences counted and printed)\n"
	"  CGOSHIM_SYMBOL_CACHE=D symbols kept across runs in D (default\n"
	"                         $XDG_CACHE_HOME/cgoshim or ~/.cache/cgoshim; 0: none)\n"
	"  CGOSHIM_LEAK_KINDS=0|1 sort leaks into kinds by a scan of memory (default 1)\n"
	"  CGOSHIM_SUPPRESS=FILE  leak suppressions, leak:PATTERN lines (LSan format)\n"
	"  CGOSHIM_SUPPRESS_DEFAULTS=0|1  built-in suppressions (default 1)\n"
	"  CGOSHIM_RING_EVENTS=N  flight recorder records per NUMA node, 16 to\n"
	"                         16777216 (default 1024)\n"
	"  CGOSHIM_NUMA_TOPOLOGY=S  (testing) CPUS:NODE,... instead of the kernel's\n"
	"  CGOSHIM_WATCHER=PATH   the watcher program (default: cgoshim-watch beside\n"
	"                         the library, or in its libexec directory)\n"
	"Booleans take 1, yes, true, on or 0, no, false, off.\n"
	"Variables read by cgoshim:\n"
	"  CGOSHIM_LIB=PATH       library to preload when --lib is not given\n"
	"  CGOSHIM_LAUNCHER_TIMEOUT=S  seconds to wait for final reports (default 60)\n"
	"  CGOSHIM_FAIL_ON_LEAK=B whatever --fail-on-leak=B does; 1/yes: B=0; 0/no: off\n"
	"  CGOSHIM_HOLD_EXIT=0|1  hold PROGRAM's exit for the final leak scan (default 1)\n"
	"cgoshim sets CGOSHIM_LAUNCHER=1, CGOSHIM_MAIN_PID (the program's pid),\n"
	"CGOSHIM_SPAWN (the name the watchers' spawn server listens on),\n"
	"CGOSHIM_VERDICT_DIR (with --fail-on-leak: where final reports leave their\n"
	"leak verdicts) and puts the library first in LD_PRELOAD. A value cgoshim refuses is one\n"
	"the library would warn about and replace by its default.\n"
	"\n"
	"Report names: with %p in TEMPLATE every process names its reports; a name\n"
	"taken already gets .1, .2... before its extension. A fixed name (no %p)\n"
	"is PROGRAM's final report's; every other report goes beside it as\n"
	"NAME.PID.EXT (run.json: run.4242.json). With -o -, PROGRAM's final report\n"
	"goes to cgoshim's stdout once PROGRAM has ended, every other report to\n"
	"stderr, and PROGRAM's own stdout to cgoshim's stderr. An output that\n"
	"cannot be written is reported at start; the reports then go to stderr.\n"
	"\n"
	"Reports of processes that outlive PROGRAM (daemons) are written when they\n"
	"end, after cgoshim has returned. A signal sent to cgoshim (INT, TERM, HUP,\n"
	"QUIT, USR1, USR2, WINCH, CONT) is passed on to PROGRAM.\n"
	"Exit status: PROGRAM's (cgoshim dies of the signal that killed PROGRAM);\n"
	"23 PROGRAM succeeded but leaked past --fail-on-leak; 2 usage error; 125 cgoshim failed; 126 PROGRAM or the library not usable;\n"
	"127 PROGRAM or the library not found.\n"
	"\n"
	"'cgoshim attach PID' measures a running process (started without cgoshim)\n"
	"from now until --duration, its end, or SIGINT, then writes the final report\n"
	"(default ./cgoshim-attach.PID.txt) and lets go of it: its calls go straight\n"
	"to libc again. It uses ptrace; static binaries, processes under seccomp and\n"
	"processes that have cgoshim already are refused (status 1, untouched).\n"
	"\n"
	"Reports: 'cgoshim diff' compares two JSON reports and fails (status 1) when\n"
	"a threshold is crossed; 'cgoshim merge' merges the reports of several\n"
	"processes into one; 'cgoshim html' draws one as a self-contained page.\n"
	"'cgoshim SUBCOMMAND --help' says more. To run a program named diff, merge\n"
	"or html, put -- before it.\n";

enum {
	OPT_NO_LEAKS = 256,
	OPT_STACK_DEPTH,
	OPT_SIGNAL,
	OPT_NO_CHILDREN,
	OPT_ONLY,
	OPT_SLOW_NS,
	OPT_INTERVAL,
	OPT_INTERVAL_MODE,
	OPT_LISTEN,
	OPT_LIB,
	OPT_VERSION,
	OPT_DURATION,
	OPT_SUPPRESSIONS,
	OPT_FAIL_ON_LEAK,
	OPT_NO_HOLD,
};

/* --fail-on-leak / CGOSHIM_FAIL_ON_LEAK; --no-hold-exit / CGOSHIM_HOLD_EXIT. */
static bool fail_on_leak, fail_on_leak_set, hold_exit = true, hold_set;
static uint64_t leak_limit;

static const struct option long_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "no-leaks", no_argument, NULL, OPT_NO_LEAKS },
	{ "stack-depth", required_argument, NULL, OPT_STACK_DEPTH },
	{ "signal", required_argument, NULL, OPT_SIGNAL },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ "slow-ns", required_argument, NULL, OPT_SLOW_NS },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "interval-mode", required_argument, NULL, OPT_INTERVAL_MODE },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "env", required_argument, NULL, 'e' },
	{ "lib", required_argument, NULL, OPT_LIB },
	{ "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
	{ "fail-on-leak", optional_argument, NULL, OPT_FAIL_ON_LEAK },
	{ "no-hold-exit", no_argument, NULL, OPT_NO_HOLD },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ NULL, 0, NULL, 0 },
};

static char *usable_file(const char *path);

static void set_var(const char *name, const char *value)
{
	if (!strncmp(name, "CGOSHIM_", 8) && strcmp(name, "CGOSHIM_LAUNCHER") && strcmp(name, "CGOSHIM_MAIN_PID") &&
	    strcmp(name, "CGOSHIM_SPAWN")) {
		/* The library's own check (options.c): what it would warn
		 * about and replace, the launcher refuses. */
		const char *note = NULL;
		const char *why = cgs_option_check(name, value, &note);
		if (!why && note)
			why = note;
		if (why)
			usage_error("%s=%.80s: %s", name, value, why);
	}
	if (setenv(name, value, 1)) {
		msg("cannot set %s: %s", name, strerror(errno));
		exit(EXIT_FAILED);
	}
}

/* -e NAME=VALUE: NAME must be CGOSHIM_ followed by [A-Z0-9_]. */
static void set_assignment(const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (!eq)
		usage_error("-e %s: expected NAME=VALUE", arg);
	if (len <= 8 || strncmp(arg, "CGOSHIM_", 8))
		usage_error("-e %.*s: only CGOSHIM_ variables can be set", (int)len, arg);
	for (size_t i = 8; i < len; i++)
		if (!isupper((unsigned char)arg[i]) && !isdigit((unsigned char)arg[i]) && arg[i] != '_')
			usage_error("-e %.*s: not a variable name", (int)len, arg);
	char *name = xmalloc(len + 1);
	memcpy(name, arg, len);
	name[len] = 0;
	set_var(name, eq + 1);
	free(name);
}

/* Light checks: the library validates every value again and says why it
 * rejects one; these only catch the obvious mistakes before the run. */
static void check_stack_depth(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || !isdigit((unsigned char)*s) || v < 1 || v > 64)
		usage_error("--stack-depth %s: expected a number from 1 to 64", s);
}

static void check_format(const char *s)
{
	static const char *const formats[] = { "text", "json", "folded", "pprof", "openmetrics", "chrome" };
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(s, formats[i]))
			return;
	usage_error("--format %s: expected text, json, folded, pprof, openmetrics or chrome", s);
}

/* -o: "-" is stdout; another value starting with '-' is an option taken
 * for a value ("-o --"); an existing directory is no file name. */
static void check_output(const char *s)
{
	struct stat st;
	if (!strcmp(s, "-"))
		return;
	if (s[0] == '-')
		usage_error("--output %s: not a file name template (an option? write ./%s for a file of that name)", s, s);
	if (!*s)
		usage_error("--output: empty value");
	if (s[strlen(s) - 1] == '/' || (!strchr(s, '%') && !stat(s, &st) && S_ISDIR(st.st_mode)))
		usage_error("--output %s: is a directory; give a file name template, e.g. %s%sreport.%%p.json", s, s,
			    s[strlen(s) - 1] == '/' ? "" : "/");
}

static void check_not_empty(const char *opt, const char *s)
{
	if (!*s)
		usage_error("%s: empty value", opt);
}

/* `cgoshim attach`: the same options, PID instead of PROGRAM, and --duration. */
static bool attach_mode;
static double attach_duration;

static double parse_duration(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double unit = 1;
	if (!strcmp(end, "ms"))
		unit = 1e-3;
	else if (!strcmp(end, "s") || !*end)
		unit = 1;
	else if (!strcmp(end, "m"))
		unit = 60;
	else if (!strcmp(end, "h"))
		unit = 3600;
	else
		v = -1;
	if (errno || end == s || !(v > 0) || v * unit > 1e9)
		usage_error("--duration=%s: expected a time such as 10s, 500ms, 5m", s);
	return v * unit;
}

/* Parse options, exporting them as they come; returns the index of PROGRAM
 * in argv and sets *lib_opt to the --lib value, if any. */
static int parse_args(int argc, char **argv, const char **lib_opt)
{
	int c;
	opterr = 0;
	/* '+': stop at the first non-option, which is PROGRAM.
	 * ':': report a missing argument as ':' rather than '?'. */
	while ((c = getopt_long(argc, argv, "+:o:f:e:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			check_output(optarg);
			set_var("CGOSHIM_OUTPUT", optarg);
			break;
		case 'f':
			check_format(optarg);
			set_var("CGOSHIM_FORMAT", optarg);
			break;
		case OPT_NO_LEAKS:
			set_var("CGOSHIM_LEAKS", "0");
			break;
		case OPT_STACK_DEPTH:
			check_stack_depth(optarg);
			set_var("CGOSHIM_STACK_DEPTH", optarg);
			break;
		case OPT_SIGNAL:
			check_not_empty("--signal", optarg);
			set_var("CGOSHIM_SIGNAL", optarg);
			break;
		case OPT_NO_CHILDREN:
			set_var("CGOSHIM_CHILDREN", "0");
			break;
		case OPT_ONLY:
			check_not_empty("--only", optarg);
			set_var("CGOSHIM_ONLY", optarg);
			break;
		case OPT_SLOW_NS:
			check_not_empty("--slow-ns", optarg);
			set_var("CGOSHIM_SLOW_NS", optarg);
			break;
		case OPT_INTERVAL:
			check_not_empty("--interval", optarg);
			set_var("CGOSHIM_INTERVAL", optarg);
			break;
		case OPT_LISTEN: {
			int fam;
			unsigned char a[16];
			unsigned port;
			if (cgs_parse_listen(optarg, &fam, a, &port)) {
				msg("--listen=%s: not PORT, :PORT, IPV4:PORT or [IPV6]:PORT", optarg);
				exit(EXIT_USAGE);
			}
			set_var("CGOSHIM_LISTEN", optarg);
			break;
		}
		case OPT_INTERVAL_MODE:
			if (strcmp(optarg, "cumulative") && strcmp(optarg, "delta")) {
				msg("--interval-mode=%s: not cumulative or delta", optarg);
				exit(EXIT_USAGE);
			}
			set_var("CGOSHIM_INTERVAL_MODE", optarg);
			break;
		case 'e':
			set_assignment(optarg);
			break;
		case OPT_LIB:
			check_not_empty("--lib", optarg);
			*lib_opt = optarg;
			break;
		case OPT_SUPPRESSIONS: {
			check_not_empty("--suppressions", optarg);
			char *abs = usable_file(optarg);
			if (!abs)
				usage_error("--suppressions %s: %s", optarg, strerror(errno));
			set_var("CGOSHIM_SUPPRESS", abs);
			free(abs);
			break;
		}
		case OPT_FAIL_ON_LEAK:
			fail_on_leak = fail_on_leak_set = true;
			leak_limit = 0;
			if (optarg && cgs_gate_parse_size(optarg, &leak_limit))
				usage_error("--fail-on-leak=%s: expected a number of bytes (like 0, 4096 or 1M)", optarg);
			break;
		case OPT_NO_HOLD:
			hold_exit = false;
			hold_set = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(fflush(stdout) ? EXIT_FAILED : 0);
		case OPT_DURATION:
			if (!attach_mode)
				usage_error("--duration is an option of cgoshim attach");
			attach_duration = parse_duration(optarg);
			break;
		case OPT_VERSION:
			printf("cgoshim %s\n", CGOSHIM_VERSION);
			exit(fflush(stdout) ? EXIT_FAILED : 0);
		case ':':
			usage_error("option %s needs a value", argv[optind - 1]);
		default:
			/* optopt: an unknown short option; 0 for an unknown long
			 * one; the option's value for "--no-leaks=1". */
			if (optopt > 0 && optopt < 128 && isalnum(optopt))
				usage_error("unknown option -%c", optopt);
			usage_error("unknown option or unexpected value: %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error(attach_mode ? "no PID to attach to" : "no program to run");
	return optind;
}

/* ------------------------------------------------------------------- library */

/* The absolute path of a readable regular file, or NULL with errno set. */
static char *usable_file(const char *path)
{
	struct stat st;
	char *real = realpath(path, NULL);
	if (!real)
		return NULL;
	if (stat(real, &st) || access(real, R_OK)) {
		free(real);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		free(real);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return NULL;
	}
	return real;
}

static char *find_library(const char *lib_opt)
{
	const char *given = lib_opt;
	const char *how = "--lib";
	const char *env = getenv("CGOSHIM_LIB");
	char *lib;

	if (!given && env && *env) {
		given = env;
		how = "CGOSHIM_LIB";
	}
	if (given) {
		lib = usable_file(given);
		if (!lib) {
			int e = errno;
			msg("cannot use the library %s (%s): %s", given, how, strerror(e));
			exit(e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
		}
		return lib;
	}

	/* Build tree layout: build/shim/cgoshim next to build/shim/libcgoshim.so. */
	char self[PATH_MAX];
	char beside[PATH_MAX + sizeof(LIB_NAME)] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			slash[1] = 0;
			snprintf(beside, sizeof(beside), "%s%s", self, LIB_NAME);
			lib = usable_file(beside);
			if (lib)
				return lib;
		}
	}
	lib = usable_file(CGOSHIM_LIBDIR "/" LIB_NAME);
	if (lib)
		return lib;
	msg("cannot find %s (looked for %s%s" CGOSHIM_LIBDIR "/" LIB_NAME
	    "); use --lib PATH or CGOSHIM_LIB", LIB_NAME, beside, *beside ? " and " : "");
	exit(EXIT_NOT_FOUND);
}

/* Put lib first in LD_PRELOAD, keeping what was there after it. */
static void set_preload(const char *lib)
{
	/* The dynamic loader splits LD_PRELOAD at spaces and colons. */
	if (strpbrk(lib, ": \t\n")) {
		msg("cannot preload %s: LD_PRELOAD cannot hold a path with ':' or spaces", lib);
		exit(EXIT_CANNOT_EXEC);
	}
	const char *old = getenv("LD_PRELOAD");
	if (!old || !old[strspn(old, ": \t\n")]) {
		set_var("LD_PRELOAD", lib);
		return;
	}
	size_t n = strlen(lib) + 1 + strlen(old) + 1;
	char *v = xmalloc(n);
	snprintf(v, n, "%s:%s", lib, old);
	set_var("LD_PRELOAD", v);
	free(v);
}

static double wait_limit(void)
{
	const char *s = getenv("CGOSHIM_LAUNCHER_TIMEOUT");
	char *end;
	if (!s || !*s)
		return DEFAULT_WAIT_S;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0) {
		msg("CGOSHIM_LAUNCHER_TIMEOUT=%.40s: not a number of seconds; using %g",
		    s, DEFAULT_WAIT_S);
		return DEFAULT_WAIT_S;
	}
	return v;
}

/* ------------------------------------------------------------------- signals */

static const int forwarded[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT,
};

/* The program while it runs; 0 once it has ended (set before it is reaped,
 * so that a forwarded signal never reaches a recycled pid). */
static volatile sig_atomic_t child_pid;
/* After the program ended: the signal that asked us to stop waiting. */
static volatile sig_atomic_t stop_signal;
static pid_t own_pgrp;
static bool own_session_leader;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	int saved = errno;
	pid_t pid = child_pid;
	if (pid <= 0) {
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
			stop_signal = sig;
	} else if (si->si_code == SI_KERNEL && !own_session_leader && getpgid(pid) == own_pgrp) {
		/* The terminal (Ctrl-C, Ctrl-\, a resize, a hangup) signals the
		 * whole foreground group: the program has it already. */
	} else {
		kill(pid, sig);
	}
	errno = saved;
}

static void install_forwarding(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&sa.sa_mask, forwarded[i]);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		struct sigaction old;
		/* A signal we were started with ignored (nohup, a background
		 * job) stays ignored, here and in the program. */
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(forwarded[i], &sa, NULL);
	}
}

/* --------------------------------------------------------------- /proc views */

struct pidset {
	pid_t *v;
	size_t n, cap;
};

static void pidset_add(struct pidset *s, pid_t p)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = p;
}

static bool pidset_has(const struct pidset *s, pid_t p)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == p)
			return true;
	return false;
}

/* Whole file into a NUL-terminated malloc'd buffer; NULL if unreadable. */
static char *read_all(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 512, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return buf;
}

static bool parse_pid(const char *s, pid_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return false;
	*out = (pid_t)v;
	return true;
}

/* State letter and parent from /proc/PID/stat; false if the process is gone. */
static bool proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = read_all(path);
	if (!s)
		return false;
	/* "pid (comm) S ppid ...": comm may hold anything, even ") ". */
	char *rp = strrchr(s, ')');
	int pp = 0;
	char st = 0;
	bool ok = rp && sscanf(rp + 1, " %c %d", &st, &pp) == 2;
	free(s);
	if (ok) {
		*state = st;
		*ppid = pp;
	}
	return ok;
}

static bool proc_alive(pid_t pid)
{
	char st;
	pid_t pp;
	return proc_stat(pid, &st, &pp) && st != 'Z' && st != 'X' && st != 'x';
}

/* Without CONFIG_PROC_CHILDREN: find the children by every process's parent. */
static void children_by_scan(pid_t parent, struct pidset *out)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid, pp;
		char st;
		if (parse_pid(de->d_name, &pid) && proc_stat(pid, &st, &pp) && pp == parent)
			pidset_add(out, pid);
	}
	closedir(d);
}

/* Append the children of every thread of pid to out. */
static void list_children(pid_t pid, struct pidset *out)
{
	static int children_file = -1; /* does the kernel have task/T/children? */
	char path[96];
	if (children_file < 0) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		children_file = access(path, R_OK) == 0;
	}
	if (!children_file) {
		children_by_scan(pid, out);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t tid;
		if (!parse_pid(de->d_name, &tid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tid);
		char *s = read_all(path);
		if (!s)
			continue; /* the thread is gone */
		char *save;
		for (char *tok = strtok_r(s, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			pid_t c;
			if (parse_pid(tok, &c))
				pidset_add(out, c);
		}
		free(s);
	}
	closedir(d);
}

static bool is_watcher(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	char *s = read_all(path);
	bool yes = s && !strcmp(s, WATCHER_COMM "\n");
	free(s);
	return yes;
}

/* Our descendants, split into watchers and live (not zombie) others. We do
 * not descend into watchers: what they run is theirs. */
static void scan_descendants(struct pidset *watchers, struct pidset *live)
{
	struct pidset queue = { 0 };
	list_children(getpid(), &queue);
	for (size_t i = 0; i < queue.n; i++) {
		pid_t p = queue.v[i];
		if (is_watcher(p)) {
			pidset_add(watchers, p);
			continue;
		}
		if (proc_alive(p))
			pidset_add(live, p);
		/* Past the bound, a watcher goes unseen or a live process is
		 * missed: either way we only wait longer. */
		if (queue.n < MAX_DESCENDANTS)
			list_children(p, &queue);
	}
	free(queue.v);
}

/* Open fd of pid: its link target and its fdinfo "flags:" (octal), "Pid:". */
struct fd_view {
	char link[128];
	int flags;
	long pidfd_pid; /* 0 if not a pidfd */
};

static bool view_fd(pid_t pid, const char *fd, struct fd_view *v)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fd);
	ssize_t n = readlink(path, v->link, sizeof(v->link) - 1);
	if (n < 0)
		return false;
	v->link[n] = 0;
	v->flags = 0;
	v->pidfd_pid = 0;
	bool pidfd = strstr(v->link, "pidfd") != NULL;
	if (!pidfd && strncmp(v->link, "pipe:", 5))
		return true; /* nothing we look at: skip reading fdinfo */
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, fd);
	char *s = read_all(path);
	if (!s)
		return false;
	char *save;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "flags:", 6))
			v->flags = (int)strtol(line + 6, NULL, 8);
		else if (pidfd && !strncmp(line, "Pid:", 4))
			v->pidfd_pid = strtol(line + 4, NULL, 10);
	}
	free(s);
	if (pidfd && v->pidfd_pid == 0)
		v->pidfd_pid = -1; /* a pidfd of a process outside our pid namespace */
	return true;
}

/* Does some process in live hold the pipe (a "pipe:[ino]" link) open for
 * writing? */
static bool pipe_writer_alive(const struct pidset *live, const char *pipe_link)
{
	for (size_t i = 0; i < live->n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)live->v[i]);
		DIR *d = opendir(path);
		struct dirent *de;
		if (!d)
			continue;
		bool found = false;
		while (!found && (de = readdir(d))) {
			struct fd_view v;
			if (de->d_name[0] == '.' || !view_fd(live->v[i], de->d_name, &v))
				continue;
			found = !strcmp(v.link, pipe_link) && (v.flags & O_ACCMODE) != O_RDONLY;
		}
		closedir(d);
		if (found)
			return true;
	}
	return false;
}

/* Is watcher w waiting for a process that is still alive? See the header:
 * a pidfd decides; else a pipe read end with a live writer; else no. */
static bool watches_live_process(pid_t w, const struct pidset *live)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)w);
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d)
		return false;
	bool has_pidfd = false, pidfd_live = false;
	char (*pipes)[128] = NULL;
	size_t npipes = 0;
	while ((de = readdir(d))) {
		struct fd_view v;
		if (de->d_name[0] == '.' || !view_fd(w, de->d_name, &v))
			continue;
		if (v.pidfd_pid) {
			has_pidfd = true;
			if (v.pidfd_pid > 0 && pidset_has(live, (pid_t)v.pidfd_pid))
				pidfd_live = true;
		} else if (!strncmp(v.link, "pipe:", 5) && (v.flags & O_ACCMODE) == O_RDONLY &&
			   atoi(de->d_name) > STDERR_FILENO) {
			/* Standard streams are the program's business, not a
			 * liveness channel. */
			pipes = xrealloc(pipes, (npipes + 1) * sizeof(*pipes));
			memcpy(pipes[npipes++], v.link, sizeof(v.link));
		}
	}
	closedir(d);
	bool yes = pidfd_live;
	for (size_t i = 0; !has_pidfd && !yes && i < npipes; i++)
		yes = pipe_writer_alive(live, pipes[i]);
	free(pipes);
	return yes;
}

/* ---------------------------------------------------------- static programs */

/* Say in one line when PROGRAM is a static ELF executable (no PT_INTERP):
 * the loader that reads LD_PRELOAD never runs in it, so no report comes. */
static void check_static(const char *prog)
{
	char path[PATH_MAX];
	if (strchr(prog, '/')) {
		snprintf(path, sizeof(path), "%s", prog);
	} else {
		const char *p = getenv("PATH");
		bool found = false;
		for (p = p ? p : "/usr/local/bin:/usr/bin:/bin"; !found && *p;) {
			size_t n = strcspn(p, ":");
			snprintf(path, sizeof(path), "%.*s%s%s", (int)n, p, n ? "/" : "", prog);
			found = !access(path, X_OK);
			p += n + (p[n] == ':');
		}
		if (!found)
			return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	unsigned char eh[64];
	bool is_static = false;
	if (pread(fd, eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && !memcmp(eh, "\177ELF", 4) && eh[4] == 2 /* 64-bit */) {
		uint64_t phoff;
		uint16_t phentsize, phnum, type;
		memcpy(&type, eh + 16, 2);
		memcpy(&phoff, eh + 32, 8);
		memcpy(&phentsize, eh + 54, 2);
		memcpy(&phnum, eh + 56, 2);
		bool interp = false, ok = phentsize >= 4 && phnum > 0;
		for (uint16_t i = 0; ok && i < phnum && !interp; i++) {
			uint32_t pt;
			ok = pread(fd, &pt, 4, (off_t)(phoff + (uint64_t)i * phentsize)) == 4;
			interp = ok && pt == 3; /* PT_INTERP */
		}
		is_static = ok && !interp && type == 2; /* ET_EXEC; a static-pie has ET_DYN */
		if (ok && !interp && type == 3) {
			/* ET_DYN without PT_INTERP: a static-pie executable, or a
			 * shared library run as a program. */
			is_static = true;
		}
	}
	close(fd);
	if (is_static)
		msg("%s is statically linked (no PT_INTERP): nothing can be preloaded into it; "
		    "it runs unmeasured and writes no report (its dynamically linked children are measured)", prog);
}

/* ------------------------------------------------------------ -o -: stdout */

/* With -o - the library writes into a private directory: PROGRAM's final
 * report as "report.EXT" (a fixed name), the others beside it; once every
 * watcher is done, the first goes to our stdout, the rest to stderr. */
static char *stdout_dir;

static void prepare_stdout(void)
{
	const char *o = getenv("CGOSHIM_OUTPUT");
	if (!o || strcmp(o, "-"))
		return;
	const char *tmp = getenv("TMPDIR");
	char *dir = xmalloc(PATH_MAX);
	snprintf(dir, PATH_MAX, "%s/cgoshim-stdout.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		msg("cannot make a directory for -o -: %s", strerror(errno));
		exit(EXIT_FAILED);
	}
	const char *f = getenv("CGOSHIM_FORMAT");
	const char *ext = !f ? ".txt" : !strcmp(f, "json") ? ".json" : !strcmp(f, "pprof") ? ".pb.gz"
			: !strcmp(f, "openmetrics") ? ".prom" : !strcmp(f, "folded") ? ".folded"
			: !strcmp(f, "chrome") ? ".trace.json" : ".txt";
	char *v = xmalloc(PATH_MAX + 32);
	snprintf(v, PATH_MAX + 32, "%s/report%s", dir, ext);
	if (setenv("CGOSHIM_OUTPUT", v, 1)) {
		msg("cannot set CGOSHIM_OUTPUT: %s", strerror(errno));
		exit(EXIT_FAILED);
	}
	free(v);
	stdout_dir = dir;
}

static void copy_to(const char *path, int to)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(to, buf + off, (size_t)(n - off));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(fd);
				return;
			}
			off += k;
		}
	close(fd);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

static void flush_stdout(void)
{
	if (!stdout_dir)
		return;
	const char *main_path = getenv("CGOSHIM_OUTPUT");
	const char *main_name = strrchr(main_path, '/') + 1;
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s", main_path);
	copy_to(path, STDOUT_FILENO);
	unlink(path);
	struct dirent **names;
	int n = scandir(stdout_dir, &names, NULL, by_name);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && strcmp(names[i]->d_name, main_name)) {
			snprintf(path, sizeof(path), "%s/%s", stdout_dir, names[i]->d_name);
			copy_to(path, STDERR_FILENO);
			unlink(path);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	/* A daemon's watcher may still write here: then the directory stays. */
	if (rmdir(stdout_dir) && errno == ENOTEMPTY)
		msg("reports of processes still running will be written to %s", stdout_dir);
}

/* --------------------------------------------------------------------- run */

static void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the program's main thread is held at its exit (hold.c). */
static bool held;

static void scan_descendants(struct pidset *watchers, struct pidset *live);

static size_t find_watchers(pid_t pid, pid_t *w, size_t max)
{
	(void)pid;
	struct pidset watchers = { 0 }, live = { 0 };
	scan_descendants(&watchers, &live);
	size_t n = 0;
	for (size_t i = 0; i < watchers.n && n < max; i++)
		w[n++] = watchers.v[i];
	free(watchers.v);
	free(live.v);
	return n;
}

/* Start PROGRAM. The forwarded signals stay blocked from before fork until
 * child_pid is set, so none is lost or sent to the wrong process. */
static pid_t start_program(char **argv, const sigset_t *orig_mask, bool chld_was_ignored)
{
	sigset_t block = *orig_mask;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_SETMASK, &block, NULL);

	/* Holding the exit (hold.c): the child waits until we have seized it. */
	int go[2] = { -1, -1 };
	if (hold_exit && pipe2(go, O_CLOEXEC)) {
		go[0] = go[1] = -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		msg("cannot fork: %s", strerror(errno));
		exit(EXIT_FAILED);
	}
	if (pid == 0) {
		if (go[0] >= 0) {
			char c;
			close(go[1]);
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			close(go[0]);
		}
		/* The program gets the mask and dispositions we were given. */
		if (chld_was_ignored)
			signal(SIGCHLD, SIG_IGN);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		/* The program's final report takes a fixed output name (README,
		 * "Output files"): the library knows it by this pid. */
		char me[24];
		snprintf(me, sizeof(me), "%d", (int)getpid());
		setenv("CGOSHIM_MAIN_PID", me, 1);
		/* The name the program's watcher serves watcher spawns on for
		 * every traced process below it, exec'd images too
		 * (shim/core/spawnproto.h). */
		char spawn[64];
		unsigned long long nonce = 0;
		int rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (rnd < 0 || read(rnd, &nonce, sizeof(nonce)) != (ssize_t)sizeof(nonce))
			nonce = (unsigned long long)now_s() * 1000003ULL ^ (unsigned long long)getpid() << 32;
		if (rnd >= 0)
			close(rnd);
		snprintf(spawn, sizeof(spawn), "cgoshim-%d-%llx", (int)getpid(), nonce);
		setenv("CGOSHIM_SPAWN", spawn, 1);
		/* -o -: our stdout carries the report alone. */
		if (stdout_dir && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(EXIT_FAILED);
		execvp(argv[0], argv);
		int e = errno;
		msg("cannot run %s: %s", argv[0], strerror(e));
		_exit(e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}

	if (go[0] >= 0) {
		close(go[0]);
		held = cgs_hold_seize(pid);
		close(go[1]); /* the child goes on to its exec */
	}
	child_pid = pid;
	install_forwarding();
	/* We forward even what our caller had blocked: the program keeps its
	 * inherited mask, the launcher must not sit on a USR2. */
	sigset_t run = *orig_mask;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigdelset(&run, forwarded[i]);
	sigprocmask(SIG_SETMASK, &run, NULL);
	return pid;
}

/* Wait for the program, reaping adopted orphans meanwhile. */
static int wait_program(pid_t pid)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: look before reaping, so child_pid is cleared while
		 * the pid still belongs to the zombie. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			msg("lost track of %d: %s", (int)pid, strerror(errno));
			exit(EXIT_FAILED);
		}
		if (si.si_pid == pid && held && (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED)) {
			/* A ptrace stop of the held main thread (hold.c). */
			int st;
			if (waitpid(pid, &st, __WALL | WNOHANG) == pid && WIFSTOPPED(st)) {
				struct cgs_hold_env env = { find_watchers, wait_limit(), &stop_signal };
				cgs_hold_stop(pid, st, &env);
			}
			continue;
		}
		if (si.si_pid != pid) {
			waitpid(si.si_pid, NULL, WNOHANG);
			continue;
		}
		child_pid = 0;
		int status;
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				msg("lost track of %d: %s", (int)pid, strerror(errno));
				exit(EXIT_FAILED);
			}
		return status;
	}
}

/* Wait until no watcher is writing a final report (see the header comment).
 * A watcher's standing is read from a snapshot that can be a moment stale -
 * a forked process about to exec still holds an inherited pipe - so when we
 * would leave behind watchers of live processes we require the verdict to
 * hold SETTLE_MS after the program ended. */
static void drain_watchers(double limit_s)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* Blocked, a child's exit stays pending and wakes sigtimedwait. */
	sigprocmask(SIG_BLOCK, &chld, &old);

	double start = now_s(), deadline = start + limit_s;
	struct pidset watchers = { 0 }, live = { 0 }, writing = { 0 };
	for (;;) {
		reap_orphans();
		watchers.n = live.n = writing.n = 0;
		scan_descendants(&watchers, &live);
		for (size_t i = 0; i < watchers.n; i++)
			if (!watches_live_process(watchers.v[i], &live))
				pidset_add(&writing, watchers.v[i]);
		double now = now_s();
		bool settled = watchers.n == 0 || now >= start + SETTLE_MS / 1e3;
		if (!writing.n && (settled || now >= deadline || stop_signal))
			break;
		if (now >= deadline || stop_signal) {
			char pids[256] = "";
			size_t len = 0;
			for (size_t i = 0; i < writing.n && len < sizeof(pids) - 16; i++)
				len += (size_t)snprintf(pids + len, sizeof(pids) - len, " %d",
							(int)writing.v[i]);
			if (stop_signal)
				msg("interrupted by %s; %zu report writer(s) still running, pid%s",
				    stop_signal == SIGINT ? "SIGINT" : stop_signal == SIGTERM ? "SIGTERM"
				    : stop_signal == SIGHUP ? "SIGHUP" : "SIGQUIT", writing.n, pids);
			else
				msg("gave up after %g s waiting for %zu report writer(s), pid%s",
				    limit_s, writing.n, pids);
			break;
		}
		double wait = deadline - now;
		if (wait > POLL_MS / 1e3)
			wait = POLL_MS / 1e3;
		struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
		sigtimedwait(&chld, NULL, &ts);
	}
	free(watchers.v);
	free(live.v);
	free(writing.v);
	reap_orphans();
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void gate_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gate_say(const char *fmt, ...)
{
	char line[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	msg("%s", line);
}

/* CGOSHIM_FAIL_ON_LEAK and CGOSHIM_HOLD_EXIT, unless an option said. */
static void gate_options(void)
{
	/* The one validation table (options.c) judges these too. */
	static const char *const gated[] = { "CGOSHIM_FAIL_ON_LEAK", "CGOSHIM_HOLD_EXIT" };
	for (size_t i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
		const char *e = getenv(gated[i]);
		const char *why = e ? cgs_option_check(gated[i], e, NULL) : NULL;
		if (why)
			usage_error("%s=%.80s: %s", gated[i], e, why);
	}
	const char *v = getenv("CGOSHIM_FAIL_ON_LEAK");
	if (!fail_on_leak_set && v && *v) {
		if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on")) {
			fail_on_leak = true;
			leak_limit = 0;
		} else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off")) {
			fail_on_leak = false;
		} else if (!cgs_gate_parse_size(v, &leak_limit)) {
			fail_on_leak = true;
		} else {
			msg("CGOSHIM_FAIL_ON_LEAK=%.40s: not 0, 1 or a number of bytes; no leak gate", v);
		}
	}
	v = getenv("CGOSHIM_HOLD_EXIT");
	if (!hold_set && v && *v) {
		if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
			hold_exit = false;
		else if (strcmp(v, "1") && strcmp(v, "yes") && strcmp(v, "true") && strcmp(v, "on"))
			msg("CGOSHIM_HOLD_EXIT=%.40s: not 0 or 1; using 1", v);
	}
	/* No leak tracking, no scan to hold the exit for. */
	v = getenv("CGOSHIM_LEAKS");
	if (v && (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off")))
		hold_exit = false;
	v = getenv("CGOSHIM_LEAK_KINDS");
	if (v && (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off")))
		hold_exit = false;
	v = getenv("CGOSHIM_DISABLE");
	if (v && (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on")))
		hold_exit = false;
}

/* End as the program ended. */
static void exit_like(int status)
{
	if (WIFEXITED(status))
		exit(WEXITSTATUS(status));
	int sig = WTERMSIG(status);
	/* Our own core would only overwrite the program's. */
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	/* Still here: pid 1 of a namespace, or a signal we cannot die of. */
	exit(128 + sig);
}

/* The report's default name in attach mode: in the current directory. */
static const char *format_ext(const char *f)
{
	if (!f || !strcmp(f, "text"))
		return "txt";
	if (!strcmp(f, "pprof"))
		return "pb.gz";
	if (!strcmp(f, "openmetrics"))
		return "prom";
	if (!strcmp(f, "chrome"))
		return "json";
	return f;
}

static int attach_main(int argc, char **argv)
{
	attach_mode = true;
	const char *lib_opt = NULL;
	int at = parse_args(argc, argv, &lib_opt);
	char *end;
	errno = 0;
	long pid = strtol(argv[at], &end, 10);
	if (errno || end == argv[at] || *end || pid <= 0 || pid > INT32_MAX)
		usage_error("attach: %s is not a process id", argv[at]);
	if (at + 1 < argc)
		usage_error("attach: one PID only (extra argument %s)", argv[at + 1]);
	if (fail_on_leak_set || hold_set || !hold_exit)
		usage_error("attach: --fail-on-leak and --no-hold-exit are options of a program run by cgoshim");
	char *lib = find_library(lib_opt);
	/* The watcher starts in the process, in its directory: a report name
	 * is made absolute here, and a default one given (the process's
	 * stderr is not ours). */
	const char *out = getenv("CGOSHIM_OUTPUT");
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/tmp");
	if (out && !strcmp(out, "-"))
		usage_error("attach: -o - is not available (the process's stdout is not cgoshim's); give a file name");
	if (!out || !*out || !strcmp(out, "stderr")) {
		char name[PATH_MAX + 64];
		snprintf(name, sizeof(name), "%s/cgoshim-attach.%ld.%s", cwd, pid, format_ext(getenv("CGOSHIM_FORMAT")));
		set_var("CGOSHIM_OUTPUT", name);
	} else if (out[0] != '/') {
		char name[2 * PATH_MAX];
		snprintf(name, sizeof(name), "%s/%s", cwd, out);
		set_var("CGOSHIM_OUTPUT", name);
	}
	fprintf(stderr, "cgoshim attach: report: %s\n", getenv("CGOSHIM_OUTPUT"));
	/* The settings passed: every CGOSHIM_ variable but the launcher's own. */
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = xmalloc((n + 1) * sizeof(*env));
	size_t k = 0;
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "CGOSHIM_", 8) && strncmp(*e, "CGOSHIM_LIB=", 12) &&
		    strncmp(*e, "CGOSHIM_LAUNCHER", 16) && strncmp(*e, "CGOSHIM_MAIN_PID=", 17))
			env[k++] = *e;
	env[k] = NULL;
	int rc = cgs_attach_run((pid_t)pid, lib, env, attach_duration);
	free(env);
	free(lib);
	return rc;
}

int main(int argc, char **argv)
{
	/* Report subcommands (cli.h); "cgoshim -- diff ..." runs a program named diff. */
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return cgs_cli_diff(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "merge"))
		return cgs_cli_merge(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "html"))
		return cgs_cli_html(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "attach"))
		return attach_main(argc - 1, argv + 1);
	const char *lib_opt = NULL;
	int prog = parse_args(argc, argv, &lib_opt);
	char *lib = find_library(lib_opt);
	set_preload(lib);
	free(lib);
	set_var("CGOSHIM_LAUNCHER", "1");
	double limit = wait_limit();
	gate_options();
	char verdict_dir[] = "/tmp/cgoshim-verdicts.XXXXXX";
	bool gate = false;
	if (fail_on_leak) {
		if (mkdtemp(verdict_dir)) {
			set_var("CGOSHIM_VERDICT_DIR", verdict_dir);
			gate = true;
		} else {
			msg("--fail-on-leak: cannot make a directory for the verdicts (%s); no leak gate",
			    strerror(errno));
		}
	}
	check_static(argv[prog]);
	prepare_stdout();

	own_pgrp = getpgrp();
	own_session_leader = getsid(0) == getpid();

	/* We must be able to wait for our children: undo an inherited
	 * SIGCHLD=SIG_IGN (restored in the program). */
	struct sigaction sa;
	bool chld_ignored = sigaction(SIGCHLD, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);

	/* Before the fork, so that no watcher can be orphaned past us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		msg("cannot become a child subreaper (%s); final reports may be written"
		    " after cgoshim returns", strerror(errno));

	sigset_t orig_mask;
	sigprocmask(SIG_SETMASK, NULL, &orig_mask);
	pid_t pid = start_program(argv + prog, &orig_mask, chld_ignored);
	int status = wait_program(pid);
	drain_watchers(limit);
	flush_stdout();
	if (gate) {
		int over = cgs_gate_judge(verdict_dir, leak_limit, gate_say);
		cgs_gate_cleanup(verdict_dir);
		/* The program's own failure wins. */
		if (over && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			exit(CGS_EXIT_LEAK);
	}
	exit_like(status);
}
