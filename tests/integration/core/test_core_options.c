/* test_core_options.c - malformed settings, CGOSHIM_DISABLE and setuid.
 *
 * A typo in a CGOSHIM_ variable must cost the user one line on stderr that
 * names the variable, never the program's run: exit status and output stay
 * the same and the report is still written (with the default). Hostile
 * values (very long, control characters) must not be echoed raw.
 * CGOSHIM_DISABLE=1 must leave no trace at all. In a setuid program
 * (AT_SECURE) the shim must read no variable and write no file
 * (PITFALLS item 18). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core_util.h"

static const char hello_out[] = "hello from the test program\n";

struct bad {
	const char *name;  /* variable, without CGOSHIM_ */
	const char *value;
	const char *opt;   /* option in the report's header that must keep its default */
	long long dflt;    /* its default (integer options) */
	const char *sdflt; /* its default (string options) */
};

static char long_output[301];

static const struct bad bads[] = {
	{ "STACK_DEPTH", "abc", "stack_depth", 16, NULL },
	{ "STACK_DEPTH", "0", "stack_depth", 16, NULL },
	{ "STACK_DEPTH", "9999", "stack_depth", 16, NULL },
	{ "STACK_DEPTH", "", "stack_depth", 16, NULL },
	{ "FORMAT", "xml", NULL, 0, NULL },
	{ "SIGNAL", "KILL", "signal", 0, "SIGUSR2" },
	{ "SIGNAL", "SIGSEGV", "signal", 0, "SIGUSR2" },
	{ "MEMORY", "1", "memory", 8LL << 30, NULL },
	{ "MEMORY", "lots", "memory", 8LL << 30, NULL },
	{ "MIN_AGE", "-5", "min_age_ns", 0, NULL },
	{ "TOP", "5\033[2J\r\n\a7", "top", 20, NULL },
	{ "TOP", "0", "top", 20, NULL },
	{ "LEAKS", "maybe", "leaks", -2, NULL },
	{ "TARGETS", "2", "targets", -2, NULL },
	{ "CHILDREN", "x", "children", -2, NULL },
	{ "DISABLE", "perhaps", NULL, 0, NULL },
	{ "SLOW_NS", "fast", "slow_ns", 1000000, NULL },
	{ "BOGUS", "1", NULL, 0, NULL },
	{ "OUTPUT", long_output, NULL, 0, NULL },
};

/* Whether s has a byte below 32 other than '\n', or DEL. */
static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 32 && s[i] != '\n') || s[i] == 127)
			return true;
	return false;
}

static int check_bad(const struct bad *b)
{
	char var[400], full[40];
	snprintf(var, sizeof(var), "CGOSHIM_%s=%s", b->name, b->value);
	snprintf(full, sizeof(full), "CGOSHIM_%s", b->name);
	bool is_format = !strcmp(b->name, "FORMAT"), is_output = !strcmp(b->name, "OUTPUT");
	const char *env[4];
	int k = 0;
	if (!is_format)
		env[k++] = "CGOSHIM_FORMAT=json";
	if (!is_output)
		env[k++] = "CGOSHIM_OUTPUT=@DIR@/r.%p.%n.json";
	env[k++] = var;
	env[k] = NULL;
	const char *argv[] = { hbin("hello"), NULL };
	struct hrun r;
	int failures = 0;
#define BAD(...) do { printf("%s: ", full); printf(__VA_ARGS__); printf("\n"); failures++; } while (0)
	if (crun(argv, env, true, !is_format && !is_output, &r))
		BAD("harness error");
	if (!hexited(&r, 0))
		BAD("exit status %#x", r.status);
	if (strcmp(r.out, hello_out))
		BAD("stdout changed: %s", r.out);
	/* The one line about the variable comes first; with a bad output the
	 * report itself follows it on stderr. */
	const char *nl = strchr(r.err, '\n');
	size_t first = nl ? (size_t)(nl - r.err + 1) : strlen(r.err);
	if (!strstr(r.err, full) || (size_t)(strstr(r.err, full) - r.err) >= first)
		BAD("first stderr line does not name the variable: %.200s", r.err);
	if (has_control(r.err, first))
		BAD("control characters echoed on stderr");
	if (first > 300)
		BAD("stderr line of %zu bytes", first);
	if (is_output) {
		json_error_t err;
		json_t *rep = json_loads(r.err + first, 0, &err);
		if (!rep || !json_is_true(json_object_get(rep, "final")))
			BAD("the report did not follow on stderr: %.200s", r.err + first);
		json_decref(rep);
	} else if (r.err[first]) {
		BAD("more than one line on stderr: %s", r.err);
	}
	if (is_format) {
		if (report_files(r.dir) != 1)
			BAD("%d report files, 1 expected (text)", report_files(r.dir));
	} else if (!is_output && !r.final) {
		BAD("no final report");
	} else if (!is_output && b->opt) {
		json_t *o = json_object_get(json_object_get(r.final, "options"), b->opt);
		if (b->sdflt && strcmp(json_string_value(o) ? json_string_value(o) : "", b->sdflt))
			BAD("options.%s is not the default %s", b->opt, b->sdflt);
		if (!b->sdflt && b->dflt == -2 && !json_is_true(o))
			BAD("options.%s is not the default true", b->opt);
		if (!b->sdflt && b->dflt != -2 && (!json_is_integer(o) || json_integer_value(o) != b->dflt))
			BAD("options.%s is not the default %lld", b->opt, b->dflt);
	}
	hrun_free(&r);
	return failures;
}

START_TEST(bad_values)
{
	memset(long_output, 'x', 300);
	long_output[0] = '/';
	long_output[300] = 0;
	int failures = 0;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		failures += check_bad(&bads[i]);
	ck_assert_msg(failures == 0, "%d problems with malformed settings (see above)", failures);
}
END_TEST

START_TEST(disable)
{
	const char *env[] = { "CGOSHIM_DISABLE=1", "CGOSHIM_FORMAT=json", "CGOSHIM_OUTPUT=@DIR@/r.%p.%n.json", NULL };
	const char *argv[] = { hbin("hello"), NULL };
	struct hrun r;
	ck_assert_int_eq(crun(argv, env, true, false, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_str_eq(r.out, hello_out);
	ck_assert_str_eq(r.err, "");
	msleep(1000);
	ck_assert_int_eq(files_in(r.dir), 0);
	hrun_free(&r);
}
END_TEST

static const char *need_root(void)
{
	return geteuid() == 0 ? NULL : "needs root to make a setuid-root copy and run it as user nobody";
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char cmd[1000];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(chown(to, 0, 0), 0);
	ck_assert_int_eq(chmod(to, mode), 0);
}

/* hello_linked (the shim as a direct dependency) run as nobody. */
static void run_as_nobody(const char *prog, const char *outdir, struct hrun *r)
{
	char out[400];
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.%%n.json", outdir);
	const char *env[] = { "CGOSHIM_FORMAT=json", out, NULL };
	const char *argv[] = { hbin("asuser"), "65534", "-", prog, "secure", NULL };
	ck_assert_int_eq(crun(argv, env, false, false, r), 0);
	if (hexited(r, 77))
		skip("cannot switch to user 65534");
	msleep(500); /* a report, if any, would be written by now */
}

START_TEST(setuid_secure)
{
	char bin[] = "/tmp/cgoshim-suid-XXXXXX", out[] = "/tmp/cgoshim-suid-out-XXXXXX";
	char plain[300], suid[300];
	ck_assert(mkdtemp(bin) && mkdtemp(out));
	ck_assert_int_eq(chmod(bin, 0755), 0);
	ck_assert_int_eq(chmod(out, 0777), 0);
	snprintf(plain, sizeof(plain), "%s/hello_plain", bin);
	snprintf(suid, sizeof(suid), "%s/hello_suid", bin);
	copy_file(hbin("hello_linked"), plain, 0755);
	copy_file(hbin("hello_linked"), suid, 04755);

	/* Control: without setuid, the shim loaded this way does report. */
	struct hrun r;
	run_as_nobody(plain, out, &r);
	if (!strstr(r.out, "shim loaded: yes"))
		skip("user nobody cannot load libcgoshim.so from the build directory");
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert(strstr(r.out, "secure: 0\n"));
	ck_assert_msg(report_files(out) == 1, "control run wrote %d reports", report_files(out));
	hrun_free(&r);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/r.*", out);
	ck_assert_int_eq(system(cmd), 0);

	run_as_nobody(suid, out, &r);
	if (strstr(r.out, "secure: 0\n"))
		skip("the setuid bit was not honoured (nosuid mount?): no AT_SECURE process to test");
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "hello from the test program\nsecure: 1\nshim loaded: yes\n");
	ck_assert_str_eq(r.err, "");
	ck_assert_msg(files_in(out) == 0, "%d files written by a setuid process", files_in(out));
	hrun_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", bin, out);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "bad-values", bad_values, NULL },
		{ "disable", disable, NULL },
		{ "setuid", setuid_secure, need_root },
	};
	return core_main(argc, argv, "core-options", cases, sizeof(cases) / sizeof(cases[0]));
}
