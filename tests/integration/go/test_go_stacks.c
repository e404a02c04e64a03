/* test_go_stacks.c - what a leak site looks like when Go called C.
 *
 * libunwind walks the C stack up to runtime.asmcgocall, where cgo switched
 * from the goroutine's stack to the thread's (PITFALLS item 17); the shim
 * names the cgo entry in the site's "cgo" field and (shim/core/gostack.c,
 * layout read from asmcgocall's code) continues into the goroutine's frames
 * up to the Go caller.
 * tests/integration/go/stackprog leaks through C.CString (7 x 77 bytes),
 * through C.my_func, a C function of the preamble that mallocs (5 x 55
 * bytes), and through C.my_func_noinline, the same kept out of line (3 x 33
 * bytes). The test prints each site's frames in the log and checks that the
 * cgo entry and the Go caller are named. cgo compiles the preamble with -O2,
 * so GCC inlines a small static my_func into its wrapper
 * _cgo_<hash>_Cfunc_my_func, which is how real cgo code is built: the entry
 * must be found then too. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "go_util.h"

static json_t *final_report(struct hrun *r)
{
	const char *argv[] = { hbin("stackprog"), NULL };
	ck_assert(hrun(argv, NULL, r) == 0);
	ck_assert_msg(hexited(r, 0), "stackprog %s; stderr: %s", status_str(r->status), r->err);
	ck_assert_msg(r->final, "no final report");
	return r->final;
}

static bool has_frame(json_t *site, const char *fn)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(site, "frames"), i, f)
		if (!strcmp(jstr(f, "function"), fn))
			return true;
	return false;
}

/* The site of count allocations of size bytes: printed, then its cgo
 * field checked against want, and its frames for the C function fn and
 * the Go function caller that called it. */
static void check_site(const char *title, long long count, long long size, const char *want, const char *fn,
		       const char *caller)
{
	struct hrun r;
	json_t *rep = final_report(&r);
	json_t *site = site_sized(rep, count, count * size);
	ck_assert_msg(site, "no leak site of %lld x %lld bytes", count, size);
	print_site(title, site);
	ck_assert_msg(!fn || has_frame(site, fn), "%s: no frame of the site names %s", title, fn);
	ck_assert_msg(json_is_string(json_object_get(site, "cgo")), "%s: the site has no cgo entry (want %s)", title,
		      want);
	ck_assert_msg(strstr(jstr(site, "cgo"), want), "%s: cgo is %s, want %s", title, jstr(site, "cgo"), want);
	ck_assert_msg(has_frame(site, caller), "%s: the stack does not reach the Go caller %s", title, caller);
	hrun_free(&r);
}

START_TEST(cstring)
{
	check_site("C.CString", 7, 77, "C.CString", NULL, "main.leakStrings");
}
END_TEST

START_TEST(my_func)
{
	check_site("C.my_func", 5, 55, "C.my_func", "my_func", "main.leakMyFunc");
}
END_TEST

START_TEST(my_func_noinline)
{
	check_site("C.my_func_noinline", 3, 33, "C.my_func_noinline", "my_func_noinline", "main.leakNoinline");
}
END_TEST

/* CGOSHIM_UNWIND=compare: the fast unwinder's frames are libunwind's on
 * every stack of the Go program: cgo calls from goroutines (ending at
 * runtime.asmcgocall) and the runtime's own C calls on the system stack
 * (x_cgo_thread_start from runtime.newm, walked by frame pointer through
 * Go code that has no unwind tables). */
START_TEST(compare)
{
	const char *argv[] = { hbin("stackprog"), NULL };
	const char *env[] = { "CGOSHIM_UNWIND=compare", "CGOSHIM_STACK_DEPTH=64", NULL };
	struct hopts o = { .env = env };
	struct hrun r;
	ck_assert(hrun(argv, &o, &r) == 0);
	ck_assert_msg(hexited(&r, 0), "stackprog %s; stderr: %s", status_str(r.status), r.err);
	ck_assert_msg(r.final, "no final report");
	long long compared = hnum(r.final, "counters.unwind_compared");
	long long mismatches = hnum(r.final, "counters.unwind_mismatches");
	printf("stackprog: %lld stacks compared, %lld differ\n", compared, mismatches);
	ck_assert_msg(mismatches == 0, "%lld of %lld stacks differ; stderr: %s", mismatches, compared, r.err);
	ck_assert_int_ge(compared, 15);
	hrun_free(&r);
}
END_TEST

/* The frame of site named fn, or NULL. */
static json_t *frame_named(json_t *site, const char *fn)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(site, "frames"), i, f)
		if (!strcmp(jstr(f, "function"), fn))
			return f;
	return NULL;
}

/* The Go frames of a leak site name the lines of the calls, as Go's own
 * runtime.Callers does: stackprog prints the line of its C.my_func_noinline
 * call and of main's call of leakNoinline, and the C function it calls the
 * line of its malloc call (__LINE__). Every frame is a return
 * address, looked up at (address - 1). */
START_TEST(callers_lines)
{
	struct hrun r;
	json_t *rep = final_report(&r);
	int at = 0, main_line = 0;
	const char *p = strstr(r.out, "runtime.Callers: leakNoinline ");
	ck_assert_msg(p && sscanf(p, "runtime.Callers: leakNoinline %d main.main %d", &at, &main_line) == 2,
		      "stackprog printed no runtime.Callers line: %s", r.out);
	int c_line = 0;
	p = strstr(r.out, "C: my_func_noinline malloc at ");
	ck_assert(p && sscanf(p, "C: my_func_noinline malloc at %d", &c_line) == 1);
	json_t *site = site_sized(rep, 3, 3 * 33);
	ck_assert_msg(site, "no leak site of 3 x 33 bytes");
	print_site("C.my_func_noinline", site);
	/* The innermost frame too: the C function's malloc call (-O2). */
	json_t *f = json_array_get(json_object_get(site, "frames"), 0);
	ck_assert_str_eq(jstr(f, "function"), "my_func_noinline");
	ck_assert_int_eq(jint(f, "line"), c_line);
	f = frame_named(site, "main.leakNoinline");
	ck_assert_msg(f, "no frame main.leakNoinline");
	ck_assert_int_eq(jint(f, "line"), at);
	f = frame_named(site, "main.main");
	ck_assert_msg(f, "no frame main.main");
	ck_assert_int_eq(jint(f, "line"), main_line);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct go_case cases[] = {
		{ "cstring", cstring },
		{ "my_func", my_func },
		{ "noinline", my_func_noinline },
		{ "compare", compare },
		{ "callers", callers_lines },
	};
	return go_main(argc, argv, "go-stacks", cases, sizeof(cases) / sizeof(cases[0]));
}
