/* test_go_exit.c - the final report of a Go program, however it ends.
 *
 * Go ends a process with a raw exit_group (no atexit handler, no ELF
 * destructor runs), and a Go program may also die of a panic, log.Fatal, a
 * signal the runtime re-raises (SIGTERM) or SIGKILL (PITFALLS item 15).
 * examples/cstring-leak serves 100 requests, each leaking one C.CString of
 * 123 bytes, then ends in each of these ways. For each: the final report
 * exists, says "final": true, and its C.CString site holds exactly 100
 * allocations and 12300 bytes; the program's exit status, stdout and stderr
 * are those of a run without the shim (reports go to files, so the shim
 * must add nothing to stderr). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "go_util.h"

#define REQUESTS 100
#define LEAK_SIZE 123 /* auditLen + 1 in examples/cstring-leak/main.go */

static void check_mode(const char *mode)
{
	const char *argv[] = { go_example("cstring-leak"), "-n", "100", "-exit", mode, NULL };
	struct hrun plain, shim;
	struct hopts no = { .no_preload = true };

	ck_assert_msg(hrun(argv, &no, &plain) == 0, "the run without the shim timed out");
	ck_assert_msg(hrun(argv, NULL, &shim) == 0, "the run under the shim timed out");
	printf("-exit %s: without the shim %s, under the shim %s, %zu report file(s)\n", mode,
	       status_str(plain.status), status_str(shim.status), shim.nreports);
	fflush(stdout);

	/* The final report, exact. */
	ck_assert_msg(shim.final, "no final report of pid %d in %s", shim.pid, shim.dir);
	ck_assert(json_is_true(json_object_get(shim.final, "final")));
	ck_assert_str_eq(jstr(shim.final, "trigger"), "exit");
	ck_assert_msg(ends_with(jstr(shim.final, "exe"), "/cstring-leak"), "exe is %s", jstr(shim.final, "exe"));
	long long count, bytes;
	int n = cgo_sites(shim.final, "C.CString", &count, &bytes);
	ck_assert_msg(n >= 1, "no leak site names C.CString in its cgo field");
	ck_assert_msg(count == REQUESTS && bytes == REQUESTS * LEAK_SIZE,
		      "C.CString sites hold %lld allocations, %lld bytes; want %d, %d", count, bytes, REQUESTS,
		      REQUESTS * LEAK_SIZE);
	ck_assert_int_eq(shim.nreports, 1);

	/* The program itself does not change. */
	ck_assert_int_eq(WIFEXITED(shim.status), WIFEXITED(plain.status));
	ck_assert_int_eq(WIFSIGNALED(shim.status), WIFSIGNALED(plain.status));
	if (WIFEXITED(plain.status))
		ck_assert_int_eq(WEXITSTATUS(shim.status), WEXITSTATUS(plain.status));
	if (WIFSIGNALED(plain.status))
		ck_assert_int_eq(WTERMSIG(shim.status), WTERMSIG(plain.status));
	ck_assert_str_eq(shim.out, plain.out);
	ck_assert_str_eq(shim.err, plain.err);
	hrun_free(&plain);
	hrun_free(&shim);
}

/* What each mode must look like without the shim: a check of the example
 * itself, so that a broken example cannot make the comparison vacuous. */
static void check_plain(const char *mode, bool exited, int code)
{
	const char *argv[] = { go_example("cstring-leak"), "-n", "3", "-exit", mode, NULL };
	struct hrun r;
	struct hopts no = { .no_preload = true };
	ck_assert(hrun(argv, &no, &r) == 0);
	if (exited)
		ck_assert_msg(hexited(&r, code), "-exit %s: %s, want exit %d", mode, status_str(r.status), code);
	else
		ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == code, "-exit %s: %s, want signal %d",
			      mode, status_str(r.status), code);
	ck_assert_str_eq(r.out, "cstring-leak: served 3 requests\n");
	hrun_free(&r);
}

START_TEST(exit_return)
{
	check_plain("return", true, 0);
	check_mode("return");
}
END_TEST

START_TEST(exit_osexit)
{
	check_plain("osexit", true, 3);
	check_mode("osexit");
}
END_TEST

START_TEST(exit_panic)
{
	check_plain("panic", true, 2);
	check_mode("panic");
}
END_TEST

START_TEST(exit_logfatal)
{
	check_plain("logfatal", true, 1);
	check_mode("logfatal");
}
END_TEST

START_TEST(exit_sigterm)
{
	check_plain("sigterm", false, SIGTERM);
	check_mode("sigterm");
}
END_TEST

START_TEST(exit_sigkill)
{
	check_plain("sigkill", false, SIGKILL);
	check_mode("sigkill");
}
END_TEST

int main(int argc, char **argv)
{
	const struct go_case cases[] = {
		{ "return", exit_return },   { "osexit", exit_osexit },   { "panic", exit_panic },
		{ "logfatal", exit_logfatal }, { "sigterm", exit_sigterm }, { "sigkill", exit_sigkill },
	};
	return go_main(argc, argv, "go-exit", cases, sizeof(cases) / sizeof(cases[0]));
}
