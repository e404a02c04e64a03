/* fuzz_options.c - libFuzzer target: the option parser (shim/options.c).
 *
 * The input, split at newlines, is an environment: any strings, most of
 * them (thanks to the dictionary and the seeds) CGOSHIM_NAME=VALUE with
 * odd values. cgs_options_parse must not crash, hang or read past a value
 * (ASan), and what it leaves must be in range whatever came in: stack depth
 * 1..64, top 1..100000, memory 16 MiB..1 TiB, a known format, a signal that
 * may be used (none, or not KILL/STOP/SEGV/...), output and topology
 * NUL-terminated inside their arrays; and parsing the same environment
 * twice gives the same table. Each value also goes through the single
 * parsers: a signal that parses prints as a name that parses back to it, a
 * number that parses is all digits. Any broken rule aborts (a crash for
 * libFuzzer). The parser's one-line complaints go to stderr, which the
 * runner closes (-close_fd_mask=2). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENV 64

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_options: %s\n", what);
	abort();
}

static void check_value(const char *v)
{
	int sig;
	uint64_t u;
	bool b;
	char buf[16];
	if (cgs_parse_signal(v, &sig) == 0) {
		if (sig < 0 || sig > SIGRTMAX || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV)
			fail("cgs_parse_signal accepted a signal that cannot be used");
		int again = -1;
		if (cgs_parse_signal(cgs_signal_name(sig, buf), &again) || again != sig)
			fail("a signal name does not parse back to its signal");
	}
	if (cgs_parse_u64(v, &u) == 0)
		for (const char *p = v; *p; p++)
			if (*p < '0' || *p > '9')
				fail("cgs_parse_u64 accepted a non-digit");
	(void)cgs_parse_size(v, &u);
	(void)cgs_parse_duration(v, &u);
	if (cgs_parse_bool(v, &b) == 0 && b != true && b != false)
		fail("cgs_parse_bool gave neither true nor false");
}

static void check_table(const struct cgs_options *o)
{
	if (o->stack_depth < 1 || o->stack_depth > 64)
		fail("stack_depth out of range");
	if (o->top < 1 || o->top > 100000)
		fail("top out of range");
	if (o->memory < (16ULL << 20) || o->memory > (1ULL << 40))
		fail("memory out of range");
	if (o->format < CGS_FMT_TEXT || o->format > CGS_FMT_CHROME)
		fail("unknown format");
	if (o->signal < 0 || o->signal > SIGRTMAX || o->signal == SIGKILL || o->signal == SIGSTOP ||
	    o->signal == SIGSEGV || o->signal == SIGBUS || o->signal == SIGFPE || o->signal == SIGILL)
		fail("signal that may not be used");
	if (!memchr(o->output, 0, sizeof(o->output)))
		fail("output not NUL-terminated");
	if (!memchr(o->numa_topology, 0, sizeof(o->numa_topology)))
		fail("numa_topology not NUL-terminated");
	const char *name = cgs_format_name(o->format);
	if (!name || !*name)
		fail("format without a name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	char *env[MAX_ENV + 1];
	size_t n = 0;
	/* Lines are entries; NUL bytes end an entry early, as in a real
	 * environment. */
	for (char *line = copy; line && n < MAX_ENV;) {
		char *nl = memchr(line, '\n', (size_t)(copy + size - line));
		if (nl)
			*nl = 0;
		env[n++] = line;
		line = nl ? nl + 1 : NULL;
	}
	env[n] = NULL;

	bool quiet = size && (data[0] & 1);
	struct cgs_options a, b;
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	cgs_options_parse(&a, env, quiet);
	cgs_options_parse(&b, env, true);
	check_table(&a);
	/* Padding aside, the fields must agree: compare field by field. */
	if (a.disable != b.disable || a.leaks != b.leaks || a.targets != b.targets || a.children != b.children ||
	    a.format != b.format || a.signal != b.signal || a.stack_depth != b.stack_depth || a.top != b.top ||
	    a.min_age_ns != b.min_age_ns || a.memory != b.memory || a.slow_ns != b.slow_ns ||
	    a.ring_events != b.ring_events || a.interval_ns != b.interval_ns || strcmp(a.output, b.output) ||
	    strcmp(a.numa_topology, b.numa_topology))
		fail("two parses of one environment differ");
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		check_value(eq ? eq + 1 : env[i]);
	}
	free(copy);
	return 0;
}
