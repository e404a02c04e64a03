/* test_options.c - unit tests of the options table (options.c), suite
 * "options".
 *
 * The CGOSHIM_* variables are the shim's whole user interface, read in
 * someone else's process: a typo or a hostile value must never crash it,
 * never be taken silently, and never flood stderr. So:
 *   parsers  cgs_parse_bool/u64/size/duration/signal on good, malformed,
 *            overflowing, negative, empty and hostile (very long, control
 *            bytes) input; a failed parse leaves the output alone.
 *   table    cgs_options_parse: the defaults with no environment; each
 *            variable's good values; a bad value keeps the default and logs
 *            exactly one line naming the variable (stderr is captured by
 *            pointing fd 2 at a temporary file around the call); an unknown
 *            CGOSHIM_ name logs one line naming it; quiet logs nothing. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

/* ---- helpers ---- */

/* Strings a user (or an attacker) could put in a variable. */
static char *long_string(size_t n, char c)
{
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

static const char *const hostile[] = {
	"", " ", "\t", "\n", "1\n", "\n1", "1 ", " 1", "\x1b[31m1", "1\x01", "\x7f", "\xff\xfe",
	"1\r", "%s%s%s%n", "-", "+", "--1", "\\", "\"", "1;rm -rf /",
};

/* The stderr written while running fn(arg), as a string (caller frees). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	int saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(tmp), 2), 2);
	fn(arg);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	off_t n = lseek(fileno(tmp), 0, SEEK_END);
	ck_assert_int_ge(n, 0);
	char *out = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(pread(fileno(tmp), out, (size_t)n, 0), n);
	out[n] = 0;
	fclose(tmp);
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

struct parse_call {
	struct cgs_options *o;
	char *const *env;
	bool quiet;
};

static void do_parse(void *arg)
{
	struct parse_call *c = arg;
	cgs_options_parse(c->o, c->env, c->quiet);
}

/* Parse env (NULL-terminated) into *o and return what was logged. */
static char *parse_env(struct cgs_options *o, char *const *env, bool quiet)
{
	struct parse_call c = { o, env, quiet };
	return capture_stderr(do_parse, &c);
}

/* Parse a single "NAME=VALUE" entry. */
static char *parse_one_var(struct cgs_options *o, const char *entry, bool quiet)
{
	char *env[] = { (char *)entry, NULL };
	return parse_env(o, env, quiet);
}

static void assert_defaults(const struct cgs_options *o)
{
	ck_assert(!o->disable);
	ck_assert(o->leaks);
	ck_assert(o->targets);
	ck_assert(o->children);
	ck_assert(!o->launcher);
	ck_assert_int_eq(o->format, CGS_FMT_TEXT);
	ck_assert_int_eq(o->signal, SIGUSR2);
	ck_assert_int_eq(o->stack_depth, 16);
	ck_assert_int_eq(o->top, 20);
	ck_assert_uint_eq(o->min_age_ns, 0);
	ck_assert_uint_eq(o->memory, 8ULL << 30);
	ck_assert_uint_eq(o->slow_ns, 1000000);
	ck_assert_uint_eq(o->exit_wait_ns, 10000000000ULL);
	ck_assert_int_eq(o->target_rows, 30);
	ck_assert_str_eq(o->output, "");
}

/* Every field of a and b equal. */
static void assert_same_options(const struct cgs_options *a, const struct cgs_options *b, const char *what)
{
	ck_assert_msg(a->disable == b->disable && a->leaks == b->leaks && a->targets == b->targets &&
			      a->children == b->children && a->launcher == b->launcher && a->format == b->format &&
			      a->signal == b->signal && a->stack_depth == b->stack_depth && a->top == b->top &&
			      a->min_age_ns == b->min_age_ns && a->memory == b->memory &&
			      a->slow_ns == b->slow_ns && a->exit_wait_ns == b->exit_wait_ns &&
			      a->target_rows == b->target_rows && !strcmp(a->output, b->output),
		      "%s changed the options", what);
}

/* The line logged names the variable, starts with "cgoshim: ", and carries
 * no control byte but its final newline. */
static void assert_one_line_naming(const char *log, const char *var, const char *what)
{
	ck_assert_msg(count_lines(log) == 1, "%s: expected one line on stderr, got %d: \"%s\"", what,
		      count_lines(log), log);
	ck_assert_msg(!strncmp(log, "cgoshim: ", 9), "%s: line does not start with \"cgoshim: \": %s", what,
		      log);
	ck_assert_msg(strstr(log, var) != NULL, "%s: the line does not name %s: %s", what, var, log);
	size_t n = strlen(log);
	ck_assert_msg(log[n - 1] == '\n', "%s: line not ended by a newline", what);
	for (size_t i = 0; i + 1 < n; i++)
		ck_assert_msg((unsigned char)log[i] >= 32 && (unsigned char)log[i] < 127,
			      "%s: byte 0x%02x at %zu of the message", what, (unsigned char)log[i], i);
	ck_assert_msg(n < 600, "%s: message of %zu bytes", what, n);
}

/* ---- cgs_parse_bool ---- */

START_TEST(bool_good)
{
	static const struct { const char *s; bool v; } good[] = {
		{ "1", true }, { "yes", true }, { "true", true }, { "on", true },
		{ "0", false }, { "no", false }, { "false", false }, { "off", false },
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(good); i++) {
		bool b = !good[i].v;
		ck_assert_msg(cgs_parse_bool(good[i].s, &b) == 0, "\"%s\" rejected", good[i].s);
		ck_assert_msg(b == good[i].v, "\"%s\" gave %d", good[i].s, b);
	}
}
END_TEST

START_TEST(bool_bad)
{
	static const char *const bad[] = { "2", "-1", "10", "01", "yess", "y e s", "truee", "o", "nope", "1.0",
					   "99999999999999999999999" };
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		bool b = true;
		ck_assert_msg(cgs_parse_bool(bad[i], &b) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_msg(b == true, "\"%s\" changed the output", bad[i]);
	}
	for (size_t i = 0; i < CGS_ARRAY_LEN(hostile); i++) {
		bool b = false;
		ck_assert_msg(cgs_parse_bool(hostile[i], &b) == -1, "hostile #%zu accepted", i);
		ck_assert(!b);
	}
	char *s = long_string(1 << 20, '1');
	bool b = false;
	ck_assert_int_eq(cgs_parse_bool(s, &b), -1);
	ck_assert(!b);
	free(s);
}
END_TEST

/* ---- cgs_parse_u64 ---- */

START_TEST(u64_good)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "42", 42 }, { "007", 7 }, { "4294967296", 4294967296ULL },
		{ "1844674407370955161", 1844674407370955161ULL },
		{ "18446744073709551609", 18446744073709551609ULL },
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(good); i++) {
		uint64_t v = 12345;
		ck_assert_msg(cgs_parse_u64(good[i].s, &v) == 0, "\"%s\" rejected", good[i].s);
		ck_assert_msg(v == good[i].v, "\"%s\" gave %llu", good[i].s, (unsigned long long)v);
	}
}
END_TEST

/* The largest values: every number that fits in 64 bits parses. */
START_TEST(u64_accepts_up_to_uint64_max)
{
	static const struct { const char *s; uint64_t v; } edge[] = {
		{ "18446744073709551610", 18446744073709551610ULL },
		{ "18446744073709551614", 18446744073709551614ULL },
		{ "18446744073709551615", UINT64_MAX },
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(edge); i++) {
		uint64_t v = 0;
		ck_assert_msg(cgs_parse_u64(edge[i].s, &v) == 0, "\"%s\" (fits in 64 bits) rejected", edge[i].s);
		ck_assert_uint_eq(v, edge[i].v);
	}
}
END_TEST

START_TEST(u64_bad)
{
	static const char *const bad[] = {
		"18446744073709551616", "18446744073709551620", "99999999999999999999999",
		"184467440737095516150", "-1", "-0", "0x10", "1e3", "12a", "a12", "1.5", "1,000", "1_000", "١",
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		uint64_t v = 777;
		ck_assert_msg(cgs_parse_u64(bad[i], &v) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_msg(v == 777, "\"%s\" changed the output", bad[i]);
	}
	for (size_t i = 0; i < CGS_ARRAY_LEN(hostile); i++) {
		uint64_t v = 777;
		ck_assert_msg(cgs_parse_u64(hostile[i], &v) == -1, "hostile #%zu accepted", i);
		ck_assert_uint_eq(v, 777);
	}
	char *s = long_string(1 << 20, '9');
	uint64_t v = 777;
	ck_assert_int_eq(cgs_parse_u64(s, &v), -1);
	ck_assert_uint_eq(v, 777);
	free(s);
}
END_TEST

/* ---- cgs_parse_size ---- */

START_TEST(size_good)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "64K", 64 << 10 }, { "64k", 64 << 10 }, { "2KiB", 2 << 10 },
		{ "8M", 8ULL << 20 }, { "3MiB", 3ULL << 20 }, { "16G", 16ULL << 30 }, { "1GiB", 1ULL << 30 },
		{ "1T", 1ULL << 40 }, { "2TiB", 2ULL << 40 },
		{ "16777215T", 16777215ULL << 40 }, /* the largest whole number of T */
		{ "18446744073709551609", 18446744073709551609ULL },
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(good); i++) {
		uint64_t v = 1;
		ck_assert_msg(cgs_parse_size(good[i].s, &v) == 0, "\"%s\" rejected", good[i].s);
		ck_assert_msg(v == good[i].v, "\"%s\" gave %llu", good[i].s, (unsigned long long)v);
	}
}
END_TEST

START_TEST(size_bad)
{
	static const char *const bad[] = {
		"K", "M", "8X", "8 M", "8MB", "8Mi", "-1", "-8M", "1.5G", "0x10", "8M8",
		"99999999999999999999999", "99999999999999999999999G",
		"16777216T",                /* 2^64: one too many */
		"18014398509481984K",       /* 2^64 */
		"17592186044416M",          /* 2^64 */
		"1111111111111111111111111111111111111111111111111111111111111",
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		uint64_t v = 777;
		ck_assert_msg(cgs_parse_size(bad[i], &v) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_msg(v == 777, "\"%s\" changed the output", bad[i]);
	}
	for (size_t i = 0; i < CGS_ARRAY_LEN(hostile); i++) {
		uint64_t v = 777;
		ck_assert_msg(cgs_parse_size(hostile[i], &v) == -1, "hostile #%zu accepted", i);
		ck_assert_uint_eq(v, 777);
	}
	char *s = long_string(1 << 20, '8');
	s[(1 << 20) - 1] = 'M';
	uint64_t v = 777;
	ck_assert_int_eq(cgs_parse_size(s, &v), -1);
	ck_assert_uint_eq(v, 777);
	free(s);
}
END_TEST

/* ---- cgs_parse_duration ---- */

/* CGOSHIM_LISTEN's syntax: numeric addresses only, loopback by default. */
START_TEST(listen_syntax)
{
	int fam;
	unsigned char a[16];
	unsigned port;
	ck_assert_int_eq(cgs_parse_listen("9464", &fam, a, &port), 0);
	ck_assert(fam == 2 && port == 9464 && a[0] == 127 && a[3] == 1);
	ck_assert_int_eq(cgs_parse_listen(":80", &fam, a, &port), 0);
	ck_assert(fam == 2 && port == 80 && a[0] == 127 && a[1] == 0 && a[3] == 1);
	ck_assert_int_eq(cgs_parse_listen("0.0.0.0:65535", &fam, a, &port), 0);
	ck_assert(fam == 2 && port == 65535 && !a[0] && !a[3]);
	ck_assert_int_eq(cgs_parse_listen("10.1.2.3:1", &fam, a, &port), 0);
	ck_assert(a[0] == 10 && a[1] == 1 && a[2] == 2 && a[3] == 3);
	ck_assert_int_eq(cgs_parse_listen("[::1]:9464", &fam, a, &port), 0);
	ck_assert(fam == 10 && port == 9464 && a[15] == 1 && !a[0] && !a[14]);
	ck_assert_int_eq(cgs_parse_listen("[fe80::1:2]:7", &fam, a, &port), 0);
	ck_assert(a[0] == 0xfe && a[1] == 0x80 && a[13] == 1 && a[15] == 2);
	ck_assert_int_eq(cgs_parse_listen("[1:2:3:4:5:6:7:8]:7", &fam, a, &port), 0);
	ck_assert(a[1] == 1 && a[15] == 8);
	static const char *const bad[] = { "", ":", "0", "65536", ":-1", "1.2.3:80", "256.0.0.1:1", "1.2.3.4.5:1",
					   "[::1:80", "localhost:80", "[::1]:", "[::1::2]:3", "[1:2:3:4:5:6:7:8:9]:1",
					   "[12345::]:1", "1.2.3.4:", "1.2.3.4:80x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cgs_parse_listen(bad[i], &fam, a, &port) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(duration_good)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "7ns", 7 }, { "5us", 5000 }, { "250ms", 250000000 }, { "10s", 10000000000ULL },
		{ "10", 10000000000ULL }, /* plain = seconds */
		{ "2m", 120000000000ULL }, { "1h", 3600000000000ULL }, { "0ms", 0 },
		{ "5124095h", 5124095ULL * 3600000000000ULL }, /* the largest whole number of hours */
		{ "18446744073709551609ns", 18446744073709551609ULL },
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(good); i++) {
		uint64_t v = 1;
		ck_assert_msg(cgs_parse_duration(good[i].s, &v) == 0, "\"%s\" rejected", good[i].s);
		ck_assert_msg(v == good[i].v, "\"%s\" gave %llu", good[i].s, (unsigned long long)v);
	}
}
END_TEST

START_TEST(duration_bad)
{
	static const char *const bad[] = {
		"ms", "s", "10x", "1.5s", "-1s", "-1", "10 s", "10ms5", "1e3s", "s10",
		"5124096h",                 /* more than 2^64 ns */
		"18446744073709551615h", "18446744073709551616ns", "99999999999999999999999",
		"18446744074",              /* plain seconds: more than 2^64 ns */
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		uint64_t v = 777;
		ck_assert_msg(cgs_parse_duration(bad[i], &v) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_msg(v == 777, "\"%s\" changed the output", bad[i]);
	}
	for (size_t i = 0; i < CGS_ARRAY_LEN(hostile); i++) {
		uint64_t v = 777;
		ck_assert_msg(cgs_parse_duration(hostile[i], &v) == -1, "hostile #%zu accepted", i);
		ck_assert_uint_eq(v, 777);
	}
	char *s = long_string(1 << 20, '1');
	uint64_t v = 777;
	ck_assert_int_eq(cgs_parse_duration(s, &v), -1);
	ck_assert_uint_eq(v, 777);
	free(s);
}
END_TEST

/* ---- cgs_parse_signal ---- */

START_TEST(signal_good)
{
	const struct { const char *s; int v; } good[] = {
		{ "USR2", SIGUSR2 }, { "SIGUSR2", SIGUSR2 }, { "USR1", SIGUSR1 }, { "SIGUSR1", SIGUSR1 },
		{ "HUP", SIGHUP }, { "SIGWINCH", SIGWINCH }, { "12", 12 }, { "10", 10 },
		{ "none", 0 }, { "0", 0 },
		{ "RTMIN", SIGRTMIN }, { "RTMIN+3", SIGRTMIN + 3 }, { "SIGRTMIN+3", SIGRTMIN + 3 },
		{ "RTMIN+0", SIGRTMIN }, { "SIG12", 12 }, /* what cgs_signal_name prints for numbers */
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(good); i++) {
		int sig = -5;
		ck_assert_msg(cgs_parse_signal(good[i].s, &sig) == 0, "\"%s\" rejected", good[i].s);
		ck_assert_msg(sig == good[i].v, "\"%s\" gave %d, want %d", good[i].s, sig, good[i].v);
	}
	/* The highest real-time signal, spelled both ways. */
	char buf[32];
	int sig = -5;
	snprintf(buf, sizeof(buf), "RTMIN+%d", SIGRTMAX - SIGRTMIN);
	ck_assert_int_eq(cgs_parse_signal(buf, &sig), 0);
	ck_assert_int_eq(sig, SIGRTMAX);
	snprintf(buf, sizeof(buf), "%d", SIGRTMAX);
	ck_assert_int_eq(cgs_parse_signal(buf, &sig), 0);
	ck_assert_int_eq(sig, SIGRTMAX);
}
END_TEST

START_TEST(signal_bad)
{
	char above[32], rt_above[32];
	snprintf(above, sizeof(above), "%d", SIGRTMAX + 1);
	snprintf(rt_above, sizeof(rt_above), "RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
	/* Signals whose default action a dump must not take over, and junk. */
	const char *const bad[] = {
		"KILL", "SIGKILL", "9", "STOP", "19", "SEGV", "11", "BUS", "7", "FPE", "8", "ILL", "4",
		"CHLD", "17", "PIPE", "13", "ABRT", "6", "TRAP", "5", "SYS", "31",
		"-12", "-1", above, rt_above, "RTMIN+", "RTMIN+-1", "RTMIN-1", "RTMIN+99999999999999999999999",
		"99999999999999999999999", "4294967308", /* 12 + 2^32 */
		"SIG", "SIGSIGUSR2", "USR3", "SIGnone", "USR2 ", "nonee",
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		int sig = -5;
		ck_assert_msg(cgs_parse_signal(bad[i], &sig) == -1, "\"%s\" accepted (as %d)", bad[i], sig);
		ck_assert_msg(sig == -5, "\"%s\" changed the output", bad[i]);
	}
	for (size_t i = 0; i < CGS_ARRAY_LEN(hostile); i++) {
		int sig = -5;
		ck_assert_msg(cgs_parse_signal(hostile[i], &sig) == -1, "hostile #%zu accepted", i);
		ck_assert_int_eq(sig, -5);
	}
	char *s = long_string(1 << 20, '1');
	int sig = -5;
	ck_assert_int_eq(cgs_parse_signal(s, &sig), -1);
	memcpy(s, "RTMIN+", 6);
	ck_assert_int_eq(cgs_parse_signal(s, &sig), -1);
	ck_assert_int_eq(sig, -5);
	free(s);
}
END_TEST

/* What the report prints as the signal parses back to the same signal. */
START_TEST(signal_name_round_trips)
{
	for (int sig = 0; sig <= SIGRTMAX; sig++) {
		char num[16], buf[16];
		int back = -5;
		snprintf(num, sizeof(num), "%d", sig);
		if (cgs_parse_signal(num, &back) != 0)
			continue;
		ck_assert_int_eq(back, sig);
		const char *name = cgs_signal_name(sig, buf);
		back = -5;
		ck_assert_msg(cgs_parse_signal(name, &back) == 0, "name \"%s\" of %d rejected", name, sig);
		ck_assert_msg(back == sig, "name \"%s\" of %d parsed as %d", name, sig, back);
	}
}
END_TEST

/* ---- cgs_options_parse ---- */

START_TEST(defaults_with_no_environment)
{
	struct cgs_options o;
	memset(&o, 0xa5, sizeof(o));
	char *log = parse_env(&o, NULL, false);
	assert_defaults(&o);
	ck_assert_str_eq(log, "");
	free(log);

	char *empty[] = { NULL };
	memset(&o, 0x5a, sizeof(o));
	log = parse_env(&o, empty, false);
	assert_defaults(&o);
	ck_assert_str_eq(log, "");
	free(log);

	/* Other variables, and names that only look like ours, are not read. */
	char *others[] = { "PATH=/usr/bin", "HOME=/root", "CGOSHIMX_LEAKS=0", "CGOSHIM", "XCGOSHIM_LEAKS=0",
			   "cgoshim_leaks=0", "=", "", "LD_PRELOAD=/x.so", NULL };
	log = parse_env(&o, others, false);
	assert_defaults(&o);
	ck_assert_msg(!strcmp(log, ""), "logged: %s", log);
	free(log);
}
END_TEST

START_TEST(each_variable_good_value)
{
	struct cgs_options o;
	char *log;
#define GOOD(entry, check)                                                                  \
	do {                                                                                \
		log = parse_one_var(&o, entry, false);                                      \
		ck_assert_msg(!strcmp(log, ""), "%s logged: %s", entry, log);                \
		ck_assert_msg(check, "%s: %s is false", entry, #check);                      \
		free(log);                                                                  \
	} while (0)
	GOOD("CGOSHIM_DISABLE=1", o.disable);
	GOOD("CGOSHIM_DISABLE=0", !o.disable);
	GOOD("CGOSHIM_LEAKS=0", !o.leaks);
	GOOD("CGOSHIM_LEAKS=1", o.leaks);
	GOOD("CGOSHIM_TARGETS=0", !o.targets);
	GOOD("CGOSHIM_CHILDREN=0", !o.children);
	GOOD("CGOSHIM_LAUNCHER=1", o.launcher);
	GOOD("CGOSHIM_FORMAT=json", o.format == CGS_FMT_JSON);
	GOOD("CGOSHIM_FORMAT=folded", o.format == CGS_FMT_FOLDED);
	GOOD("CGOSHIM_FORMAT=text", o.format == CGS_FMT_TEXT);
	GOOD("CGOSHIM_SIGNAL=none", o.signal == 0);
	GOOD("CGOSHIM_SIGNAL=HUP", o.signal == SIGHUP);
	GOOD("CGOSHIM_SIGNAL=SIGUSR1", o.signal == SIGUSR1);
	GOOD("CGOSHIM_SIGNAL=RTMIN+2", o.signal == SIGRTMIN + 2);
	GOOD("CGOSHIM_STACK_DEPTH=1", o.stack_depth == 1);
	GOOD("CGOSHIM_STACK_DEPTH=64", o.stack_depth == 64);
	GOOD("CGOSHIM_STACK_DEPTH=32", o.stack_depth == 32);
	GOOD("CGOSHIM_TOP=5", o.top == 5);
	GOOD("CGOSHIM_TOP=100000", o.top == 100000);
	GOOD("CGOSHIM_ONLY=*.test", !strcmp(o.only, "*.test"));
	GOOD("CGOSHIM_MIN_AGE=10s", o.min_age_ns == 10000000000ULL);
	GOOD("CGOSHIM_MIN_AGE=250ms", o.min_age_ns == 250000000ULL);
	GOOD("CGOSHIM_MIN_AGE=3", o.min_age_ns == 3000000000ULL);
	GOOD("CGOSHIM_MEMORY=64M", o.memory == 64ULL << 20);
	GOOD("CGOSHIM_MEMORY=16M", o.memory == 16ULL << 20);
	GOOD("CGOSHIM_MEMORY=1T", o.memory == 1ULL << 40);
	GOOD("CGOSHIM_MEMORY=2G", o.memory == 2ULL << 30);
	GOOD("CGOSHIM_SLOW_NS=2ms", o.slow_ns == 2000000);
	GOOD("CGOSHIM_SLOW_NS=750us", o.slow_ns == 750000);
	GOOD("CGOSHIM_EXIT_WAIT=0", o.exit_wait_ns == 0);
	GOOD("CGOSHIM_EXIT_WAIT=2", o.exit_wait_ns == 2000000000ULL);
	GOOD("CGOSHIM_EXIT_WAIT=500ms", o.exit_wait_ns == 500000000ULL);
	GOOD("CGOSHIM_TARGET_ROWS=1", o.target_rows == 1);
	GOOD("CGOSHIM_TARGET_ROWS=500", o.target_rows == 500);
	GOOD("CGOSHIM_OUTPUT=/tmp/cgoshim.%p.%n.json", !strcmp(o.output, "/tmp/cgoshim.%p.%n.json"));
	GOOD("CGOSHIM_OUTPUT=stderr", !strcmp(o.output, ""));
	GOOD("CGOSHIM_OUTPUT=-", !strcmp(o.output, "-")); /* stdout */
	GOOD("CGOSHIM_OUTPUT_MODE=0644", o.output_mode == 0644);
	GOOD("CGOSHIM_OUTPUT_MODE=600", o.output_mode == 0600);
	GOOD("CGOSHIM_MAIN_PID=4242", o.main_pid == 4242);
	GOOD("CGOSHIM_DISABLE=yes", o.disable);
	GOOD("CGOSHIM_LIB=/opt/libcgoshim.so", o.leaks);       /* the launcher's: not an unknown name */
	GOOD("CGOSHIM_LAUNCHER_TIMEOUT=5", o.leaks);
	/* A path of 255 bytes fits. */
	char entry[CGS_OUTPUT_MAX + 32] = "CGOSHIM_OUTPUT=";
	memset(entry + 15, 'o', CGS_OUTPUT_MAX - 1);
	entry[15 + CGS_OUTPUT_MAX - 1] = 0;
	GOOD(entry, strlen(o.output) == CGS_OUTPUT_MAX - 1);
#undef GOOD

	/* All at once, and each keeps its own value. */
	char *all[] = { "CGOSHIM_LEAKS=0", "CGOSHIM_FORMAT=json", "CGOSHIM_STACK_DEPTH=8",
			"CGOSHIM_OUTPUT=/x/%p", "CGOSHIM_MEMORY=1G", "CGOSHIM_SIGNAL=none", "CGOSHIM_TOP=3",
			"PATH=/bin", NULL };
	log = parse_env(&o, all, false);
	ck_assert_str_eq(log, "");
	ck_assert(!o.leaks);
	ck_assert_int_eq(o.format, CGS_FMT_JSON);
	ck_assert_int_eq(o.stack_depth, 8);
	ck_assert_str_eq(o.output, "/x/%p");
	ck_assert_uint_eq(o.memory, 1ULL << 30);
	ck_assert_int_eq(o.signal, 0);
	ck_assert_int_eq(o.top, 3);
	ck_assert(o.targets);
	free(log);
}
END_TEST

/* The launcher documents CGOSHIM_SLOW_NS=T as "ns, or 2ms...": a plain
 * number is nanoseconds, as the variable's name says. */
START_TEST(slow_ns_plain_number_is_nanoseconds)
{
	struct cgs_options o;
	char *log = parse_one_var(&o, "CGOSHIM_SLOW_NS=5000", false);
	ck_assert_str_eq(log, "");
	ck_assert_msg(o.slow_ns == 5000, "CGOSHIM_SLOW_NS=5000 gave %llu ns", (unsigned long long)o.slow_ns);
	free(log);
}
END_TEST

START_TEST(bad_value_keeps_default_and_logs_one_line)
{
	static const struct { const char *var, *value; } bad[] = {
		{ "CGOSHIM_DISABLE", "2" }, { "CGOSHIM_DISABLE", "" }, { "CGOSHIM_LEAKS", "maybe" },
		{ "CGOSHIM_TARGETS", "-1" }, { "CGOSHIM_CHILDREN", "yes please" },
		{ "CGOSHIM_FORMAT", "xml" }, { "CGOSHIM_FORMAT", "JSON " }, { "CGOSHIM_FORMAT", "" },
		{ "CGOSHIM_SIGNAL", "KILL" }, { "CGOSHIM_SIGNAL", "SEGV" }, { "CGOSHIM_SIGNAL", "99" },
		{ "CGOSHIM_SIGNAL", "" },
		{ "CGOSHIM_STACK_DEPTH", "0" }, { "CGOSHIM_STACK_DEPTH", "65" }, { "CGOSHIM_STACK_DEPTH", "-3" },
		{ "CGOSHIM_STACK_DEPTH", "99999999999999999999999" }, { "CGOSHIM_STACK_DEPTH", "4294967312" },
		{ "CGOSHIM_TOP", "0" }, { "CGOSHIM_TOP", "100001" }, { "CGOSHIM_TOP", "4294967297" },
		{ "CGOSHIM_MIN_AGE", "ten" }, { "CGOSHIM_MIN_AGE", "-1s" }, { "CGOSHIM_MIN_AGE", "1.5s" },
		{ "CGOSHIM_MIN_AGE", "99999999999999999999999" },
		{ "CGOSHIM_MEMORY", "1K" }, { "CGOSHIM_MEMORY", "15M" }, { "CGOSHIM_MEMORY", "2T" },
		{ "CGOSHIM_MEMORY", "8X" }, { "CGOSHIM_MEMORY", "-8G" }, { "CGOSHIM_MEMORY", "" },
		{ "CGOSHIM_SLOW_NS", "fast" }, { "CGOSHIM_SLOW_NS", "-5" },
		{ "CGOSHIM_SLOW_NS", "99999999999999999999999" },
		{ "CGOSHIM_OUTPUT_MODE", "0444" }, { "CGOSHIM_OUTPUT_MODE", "0800" },
		{ "CGOSHIM_OUTPUT_MODE", "01777" }, { "CGOSHIM_OUTPUT_MODE", "" },
		{ "CGOSHIM_MAIN_PID", "0" }, { "CGOSHIM_MAIN_PID", "x" },
		{ "CGOSHIM_EXIT_WAIT", "forever" }, { "CGOSHIM_EXIT_WAIT", "2h" }, { "CGOSHIM_EXIT_WAIT", "-1" },
		{ "CGOSHIM_TARGET_ROWS", "0" }, { "CGOSHIM_TARGET_ROWS", "100001" }, { "CGOSHIM_TARGET_ROWS", "many" },
	};
	struct cgs_options dflt;
	cgs_options_parse(&dflt, NULL, true);
	for (size_t i = 0; i < CGS_ARRAY_LEN(bad); i++) {
		char entry[256], what[300];
		struct cgs_options o;
		snprintf(entry, sizeof(entry), "%s=%s", bad[i].var, bad[i].value);
		snprintf(what, sizeof(what), "\"%s\"", entry);
		char *log = parse_one_var(&o, entry, false);
		assert_same_options(&o, &dflt, what);
		assert_one_line_naming(log, bad[i].var, what);
		free(log);
	}
	/* Too long a path for CGOSHIM_OUTPUT: stderr stays the output. */
	char entry[CGS_OUTPUT_MAX + 32] = "CGOSHIM_OUTPUT=";
	memset(entry + 15, 'o', CGS_OUTPUT_MAX);
	entry[15 + CGS_OUTPUT_MAX] = 0;
	struct cgs_options o;
	char *log = parse_one_var(&o, entry, false);
	assert_same_options(&o, &dflt, "CGOSHIM_OUTPUT of 256 bytes");
	assert_one_line_naming(log, "CGOSHIM_OUTPUT", "CGOSHIM_OUTPUT of 256 bytes");
	free(log);
}
END_TEST

/* One validation path: cgs_option_check (the launcher's) refuses exactly
 * what the library warns about, in the words of the library's line. */
START_TEST(check_gives_the_library_words)
{
	static const struct { const char *var, *value; bool good; } v[] = {
		{ "CGOSHIM_SIGNAL", "FOO", false }, { "CGOSHIM_INTERVAL", "1ms", false },
		{ "CGOSHIM_SLOW_NS", "-5", false }, { "CGOSHIM_DISABLE", "maybe", false },
		{ "CGOSHIM_RING_EVENTS", "3", false }, { "CGOSHIM_OUTPUT_MODE", "0444", false },
		{ "CGOSHIM_FORMAT", "xml", false }, { "CGOSHIM_STACK_DEPTH", "65", false },
		{ "CGOSHIM_DISABLE", "yes", true }, { "CGOSHIM_INTERVAL", "10ms", true },
		{ "CGOSHIM_SIGNAL", "RTMIN+3", true }, { "CGOSHIM_OUTPUT", "r.%p.json", true },
		/* issue 18's options go through the same table */
		{ "CGOSHIM_LEAK_KINDS", "maybe", false }, { "CGOSHIM_SUPPRESS_DEFAULTS", "2", false },
		{ "CGOSHIM_FAIL_ON_LEAK", "lots", false }, { "CGOSHIM_HOLD_EXIT", "sometimes", false },
		{ "CGOSHIM_LEAK_KINDS", "0", true }, { "CGOSHIM_SUPPRESS_DEFAULTS", "off", true },
		{ "CGOSHIM_FAIL_ON_LEAK", "4K", true }, { "CGOSHIM_FAIL_ON_LEAK", "yes", true },
		{ "CGOSHIM_HOLD_EXIT", "0", true }, { "CGOSHIM_SUPPRESS", "/tmp/supp.txt", true },
		{ "CGOSHIM_VERDICT_DIR", "/tmp/v", true },
	};
	for (size_t i = 0; i < CGS_ARRAY_LEN(v); i++) {
		char entry[128];
		struct cgs_options o;
		snprintf(entry, sizeof(entry), "%s=%s", v[i].var, v[i].value);
		const char *why = cgs_option_check(v[i].var, v[i].value, NULL);
		char *log = parse_one_var(&o, entry, false);
		if (v[i].good) {
			ck_assert_msg(!why, "%s refused: %s", entry, why);
			ck_assert_msg(!*log, "%s warned: %s", entry, log);
		} else {
			ck_assert_msg(why, "%s accepted by the check", entry);
			char want[512];
			snprintf(want, sizeof(want), ": %s; using ", why);
			ck_assert_msg(strstr(log, want), "%s: check says '%s', library says '%s'", entry, why, log);
		}
		free(log);
	}
	ck_assert_ptr_nonnull(cgs_option_check("CGOSHIM_NO_SUCH", "1", NULL));
}
END_TEST

/* CGOSHIM_OUTPUT: an unknown placeholder or a trailing % gets one line and
 * is kept as written; known ones get none. */
START_TEST(output_placeholders)
{
	static const char *const warned[] = { "r.%x.json", "r.%p.%", "%", "a%b%p" };
	static const char *const quiet[] = { "r.%p.%n.json", "100%%.txt", "plain.json", "-" };
	for (size_t i = 0; i < CGS_ARRAY_LEN(warned); i++) {
		char entry[128];
		struct cgs_options o;
		snprintf(entry, sizeof(entry), "CGOSHIM_OUTPUT=%s", warned[i]);
		char *log = parse_one_var(&o, entry, false);
		assert_one_line_naming(log, "CGOSHIM_OUTPUT", entry);
		ck_assert_msg(strstr(log, "placeholder") && strstr(log, "kept as written"), "%s: %s", entry, log);
		ck_assert_str_eq(o.output, warned[i]);
		const char *note = NULL;
		ck_assert_ptr_null(cgs_option_check("CGOSHIM_OUTPUT", warned[i], &note));
		ck_assert_ptr_nonnull(note);
		free(log);
	}
	for (size_t i = 0; i < CGS_ARRAY_LEN(quiet); i++) {
		char entry[128];
		struct cgs_options o;
		snprintf(entry, sizeof(entry), "CGOSHIM_OUTPUT=%s", quiet[i]);
		char *log = parse_one_var(&o, entry, false);
		ck_assert_msg(!*log, "%s: %s", entry, log);
		free(log);
	}
}
END_TEST

/* Hostile values: huge, with terminal escapes, newlines, invalid UTF-8. One
 * short line each, with nothing of the value echoed raw. */
START_TEST(hostile_values_log_one_clean_line)
{
	static const char *const vars[] = { "CGOSHIM_LEAKS", "CGOSHIM_FORMAT", "CGOSHIM_SIGNAL",
					    "CGOSHIM_STACK_DEPTH", "CGOSHIM_MEMORY", "CGOSHIM_MIN_AGE",
					    "CGOSHIM_OUTPUT", "CGOSHIM_TOP" };
	struct cgs_options dflt;
	cgs_options_parse(&dflt, NULL, true);
	size_t big = 1 << 20;
	char *entry = malloc(64 + big);
	ck_assert_ptr_nonnull(entry);
	for (size_t v = 0; v < CGS_ARRAY_LEN(vars); v++) {
		for (int kind = 0; kind < 3; kind++) {
			int n = sprintf(entry, "%s=", vars[v]);
			for (size_t i = 0; i < big; i++)
				entry[n + i] = kind == 0 ? '9' : kind == 1 ? (char)(1 + i % 31) : (char)(0x80 + i % 128);
			entry[n + big] = 0;
			if (kind == 1)
				memcpy(entry + n, "\x1b[2J\n\r", 6);
			char what[96];
			snprintf(what, sizeof(what), "%s, hostile value #%d", vars[v], kind);
			struct cgs_options o;
			char *log = parse_one_var(&o, entry, false);
			assert_same_options(&o, &dflt, what);
			assert_one_line_naming(log, vars[v], what);
			free(log);
		}
	}
	free(entry);
}
END_TEST

START_TEST(unknown_variable_logs_one_line)
{
	static const char *const unknown[][2] = {
		{ "CGOSHIM_FOO=1", "CGOSHIM_FOO" },
		{ "CGOSHIM_LEAK=0", "CGOSHIM_LEAK" },          /* a typo of LEAKS */
		{ "CGOSHIM_leaks=0", "CGOSHIM_leaks" },
		{ "CGOSHIM_STACKDEPTH=4", "CGOSHIM_STACKDEPTH" },
		{ "CGOSHIM_FORMAT_X=json", "CGOSHIM_FORMAT_X" },
	};
	struct cgs_options dflt;
	cgs_options_parse(&dflt, NULL, true);
	for (size_t i = 0; i < CGS_ARRAY_LEN(unknown); i++) {
		struct cgs_options o;
		char *log = parse_one_var(&o, unknown[i][0], false);
		assert_same_options(&o, &dflt, unknown[i][0]);
		assert_one_line_naming(log, unknown[i][1], unknown[i][0]);
		free(log);
	}
}
END_TEST

/* An unknown name is echoed back: with terminal escapes or a newline in it,
 * the line must stay one clean line (as values are). */
START_TEST(unknown_hostile_name_logs_one_clean_line)
{
	static const char *const names[] = {
		"CGOSHIM_\x1b]0;pwned\x07=1", "CGOSHIM_A\nB=1", "CGOSHIM_\x1b[2J\x1b[H=1", "CGOSHIM_\xff\xfe=1",
		"CGOSHIM_\r\t=1",
	};
	struct cgs_options dflt;
	cgs_options_parse(&dflt, NULL, true);
	for (size_t i = 0; i < CGS_ARRAY_LEN(names); i++) {
		struct cgs_options o;
		char what[32];
		snprintf(what, sizeof(what), "hostile name #%zu", i);
		char *log = parse_one_var(&o, names[i], false);
		assert_same_options(&o, &dflt, what);
		assert_one_line_naming(log, "CGOSHIM_", what);
		free(log);
	}
}
END_TEST

/* A long misspelt name is a typo too: options.c promises that a typo does
 * not go unseen. */
START_TEST(unknown_long_name_logs_one_line)
{
	struct cgs_options o, dflt;
	cgs_options_parse(&dflt, NULL, true);
	const char *name = "CGOSHIM_STACK_DEPTH_FOR_ALLOCATIONS_AND_FREES";
	char entry[128];
	snprintf(entry, sizeof(entry), "%s=4", name);
	char *log = parse_one_var(&o, entry, false);
	assert_same_options(&o, &dflt, entry);
	ck_assert_msg(count_lines(log) == 1, "%s: expected one line on stderr, got %d: \"%s\"", entry,
		      count_lines(log), log);
	ck_assert_msg(!strncmp(log, "cgoshim: ", 9), "line: %s", log);
	free(log);
}
END_TEST

START_TEST(one_line_per_bad_variable)
{
	char *env[] = { "CGOSHIM_LEAKS=2", "CGOSHIM_FORMAT=xml", "CGOSHIM_TOP=0", "CGOSHIM_FOO=1",
			"CGOSHIM_TARGETS=0", "PATH=/bin", NULL };
	struct cgs_options o;
	char *log = parse_env(&o, env, false);
	ck_assert_msg(count_lines(log) == 4, "expected 4 lines, got: %s", log);
	ck_assert_ptr_nonnull(strstr(log, "CGOSHIM_LEAKS"));
	ck_assert_ptr_nonnull(strstr(log, "CGOSHIM_FORMAT"));
	ck_assert_ptr_nonnull(strstr(log, "CGOSHIM_TOP"));
	ck_assert(o.leaks);
	ck_assert_int_eq(o.format, CGS_FMT_TEXT);
	ck_assert_int_eq(o.top, 20);
	ck_assert(!o.targets); /* the good one still counts */
	free(log);
}
END_TEST

START_TEST(quiet_logs_nothing)
{
	char *huge = long_string(1 << 16, '\x1b');
	char *entry = malloc(strlen(huge) + 32);
	ck_assert_ptr_nonnull(entry);
	sprintf(entry, "CGOSHIM_MEMORY=%s", huge);
	char *env[] = { "CGOSHIM_LEAKS=2", "CGOSHIM_FORMAT=xml", "CGOSHIM_TOP=0", "CGOSHIM_FOO=1",
			"CGOSHIM_SIGNAL=KILL", "CGOSHIM_STACK_DEPTH=0", "CGOSHIM_MIN_AGE=x", entry,
			"CGOSHIM_STACK_DEPTH_FOR_ALLOCATIONS_AND_FREES=4", "CGOSHIM_SLOW_NS=x", NULL };
	struct cgs_options o;
	char *log = parse_env(&o, env, true);
	ck_assert_msg(!strcmp(log, ""), "quiet parse logged: %s", log);
	assert_defaults(&o);
	free(log);
	free(entry);
	free(huge);
}
END_TEST

/* CGOSHIM_ONLY's glob, as shells match names. */
START_TEST(glob_matches)
{
	static const struct { const char *pat, *s; bool want; } cases[] = {
		{ "*.test", "pkg.test", true },
		{ "*.test", "/tmp/go-build1/b001/pkg.test", true },
		{ "*.test", "pkg.test.go", false },
		{ "*.test", "gcc", false },
		{ "*", "", true },
		{ "", "", true },
		{ "", "a", false },
		{ "a*b*c", "aXXbYYc", true },
		{ "a*b*c", "aXXbYY", false },
		{ "a?c", "abc", true },
		{ "a?c", "ac", false },
		{ "[a-c]x", "bx", true },
		{ "[a-c]x", "dx", false },
		{ "[!a-c]x", "dx", true },
		{ "[!a-c]x", "ax", false },
		{ "[]]x", "]x", true },
		{ "\\*x", "*x", true },
		{ "\\*x", "ax", false },
		{ "[ab", "[ab", true },
		{ "/usr/bin/*", "/usr/bin/go", true },
		{ "*/go", "/usr/lib/go-1.23/bin/go", true },
		{ "**a", "bbba", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(cgs_glob_match(cases[i].pat, cases[i].s) == cases[i].want, "'%s' ~ '%s': want %d",
			      cases[i].pat, cases[i].s, cases[i].want);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("parsers");
	tcase_add_test(tc, glob_matches);
	tcase_add_test(tc, bool_good);
	tcase_add_test(tc, bool_bad);
	tcase_add_test(tc, u64_good);
	tcase_add_test(tc, u64_accepts_up_to_uint64_max);
	tcase_add_test(tc, u64_bad);
	tcase_add_test(tc, size_good);
	tcase_add_test(tc, size_bad);
	tcase_add_test(tc, duration_good);
	tcase_add_test(tc, listen_syntax);
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, signal_good);
	tcase_add_test(tc, signal_bad);
	tcase_add_test(tc, signal_name_round_trips);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, defaults_with_no_environment);
	tcase_add_test(tc, each_variable_good_value);
	tcase_add_test(tc, slow_ns_plain_number_is_nanoseconds);
	tcase_add_test(tc, bad_value_keeps_default_and_logs_one_line);
	tcase_add_test(tc, hostile_values_log_one_clean_line);
	tcase_add_test(tc, unknown_variable_logs_one_line);
	tcase_add_test(tc, unknown_hostile_name_logs_one_clean_line);
	tcase_add_test(tc, unknown_long_name_logs_one_line);
	tcase_add_test(tc, one_line_per_bad_variable);
	tcase_add_test(tc, quiet_logs_nothing);
	tcase_add_test(tc, check_gives_the_library_words);
	tcase_add_test(tc, output_placeholders);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
