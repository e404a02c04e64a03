/* test_exports.c - libcgoshim.so exports the interposed names and the
 * public cgoshim_* API and nothing else, and uses no dynamic TLS
 * (PITFALLS item 2; STYLE: "exported symbols controlled by a version script
 * plus a test that fails when anything else leaks out").
 *
 *	test_exports PATH/TO/shim/cgoshim.map
 *
 *  - exports_match_map: `nm -D --defined-only` lists exactly the names of
 *    the version script's global: section;
 *  - exports_are_libc_or_api: every exported name is a cgoshim_* function
 *    or a name libc itself exports (an interposer); an internal helper that
 *    leaked out would be neither;
 *  - every_entry_point_exported: every entry point of shim/fns.h is
 *    exported (a missing one would silently not be measured);
 *  - transparency_entry_points_exported: every way glibc offers to set a
 *    signal's disposition (the dump signal's semantics, issue 13 item 1)
 *    and to install a seccomp filter (prctl, syscall: item 9) is exported;
 *  - no_tls_get_addr: no reference to __tls_get_addr (dynamic TLS may call
 *    malloc on a thread's first touch), and no TLS symbol exported;
 *  - needs_libc_only: NEEDED is libc.so.6 alone, no RPATH/RUNPATH, and no
 *    unwinder symbol (_Unwind_*, unw_*, libunwind's _U*) referenced or
 *    exported (the built-in libunwind is hidden).
 * Exits 77 without nm. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <ctype.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fns.h"
#include "iotest.h"

static const char *map_path;

static const char *lib(void)
{
	const char *l = getenv("CGOSHIM_TEST_LIB");
	ck_assert_msg(l != NULL, "CGOSHIM_TEST_LIB is not set");
	return l;
}

/* The names in the global: section of the version script. */
static char **map_names(void)
{
	FILE *f = fopen(map_path, "r");
	ck_assert_msg(f != NULL, "cannot read %s", map_path);
	static char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	/* Drop comments. */
	for (char *c; (c = strstr(text, "/*"));) {
		char *e = strstr(c + 2, "*/");
		ck_assert_msg(e != NULL, "unterminated comment in %s", map_path);
		memset(c, ' ', (size_t)(e + 2 - c));
	}
	char *g = strstr(text, "global:"), *l = strstr(text, "local:");
	ck_assert_msg(g && l && l > g, "%s has no global: ... local: sections", map_path);
	*l = 0;
	char **v = calloc(1, sizeof(*v));
	size_t k = 0;
	for (char *t = strtok(g + 7, " \t\n;"); t; t = strtok(NULL, " \t\n;")) {
		v = realloc(v, (k + 2) * sizeof(*v));
		v[k++] = strdup(t);
		v[k] = NULL;
	}
	return v;
}

static char **exported(void)
{
	char **v = io_nm(lib(), "--defined-only");
	ck_assert_msg(v != NULL, "nm -D --defined-only %s failed", lib());
	ck_assert_msg(io_strv_len(v) > 0, "nm lists no exported symbol in %s", lib());
	return v;
}

START_TEST(exports_match_map)
{
	char **map = map_names(), **exp = exported();
	for (size_t i = 0; exp[i]; i++)
		ck_assert_msg(io_strv_has(map, exp[i]), "%s exports \"%s\", which is not in %s", lib(), exp[i], map_path);
	for (size_t i = 0; map[i]; i++)
		ck_assert_msg(io_strv_has(exp, map[i]), "%s lists \"%s\", which the library does not define", map_path,
			      map[i]);
	io_strv_free(map);
	io_strv_free(exp);
}
END_TEST

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *name = info->dlpi_name;
	size_t n = strlen(name);
	if (n >= 10 && !strcmp(name + n - 10, "/libc.so.6")) {
		snprintf(data, 4096, "%s", name);
		return 1;
	}
	return 0;
}

START_TEST(exports_are_libc_or_api)
{
	static char libc[4096];
	ck_assert_msg(dl_iterate_phdr(find_libc, libc) == 1, "libc.so.6 not found among the loaded objects");
	char **libc_names = io_nm(libc, "--defined-only");
	ck_assert_msg(libc_names != NULL, "nm -D %s failed", libc);
	char **exp = exported();
	for (size_t i = 0; exp[i]; i++) {
		if (!strncmp(exp[i], "cgoshim_", 8))
			continue;
		ck_assert_msg(io_strv_has(libc_names, exp[i]),
			      "%s exports \"%s\", which is neither cgoshim_* nor a libc function it interposes", lib(),
			      exp[i]);
	}
	io_strv_free(exp);
	io_strv_free(libc_names);
}
END_TEST

START_TEST(every_entry_point_exported)
{
	char **exp = exported();
#define CGS_X(n, f) ck_assert_msg(io_strv_has(exp, #n), "%s does not export %s (listed in shim/fns.h)", lib(), #n);
	CGS_FN_LIST(CGS_X)
#undef CGS_X
	io_strv_free(exp);
}
END_TEST

START_TEST(transparency_entry_points_exported)
{
	static const char *const names[] = { "sigaction", "__sigaction", "signal", "bsd_signal", "ssignal",
		"sysv_signal", "__sysv_signal", "sigset", "sigignore", "siginterrupt", "prctl", "syscall" };
	char **exp = exported();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(io_strv_has(exp, names[i]), "%s does not export %s: a call to it would bypass the shim",
			      lib(), names[i]);
	io_strv_free(exp);
}
END_TEST

START_TEST(no_tls_get_addr)
{
	char **all = io_nm(lib(), NULL);
	ck_assert_msg(all != NULL, "nm -D %s failed", lib());
	ck_assert_msg(!io_strv_has(all, "__tls_get_addr"),
		      "%s references __tls_get_addr: some thread-local is not initial-exec", lib());
	io_strv_free(all);
	/* An exported TLS symbol would be reached through __tls_get_addr. */
	const char *argv[] = { "nm", "-D", "--defined-only", lib(), NULL };
	int st;
	char *out = io_capture(argv, false, &st);
	ck_assert_msg(out && WIFEXITED(st) && !WEXITSTATUS(st), "nm failed");
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char addr[32], type[4], name[256];
		if (sscanf(line, "%31s %3s %255s", addr, type, name) == 3)
			ck_assert_msg(strcmp(type, "T") == 0 || strcmp(type, "W") == 0 || strcmp(type, "i") == 0,
				      "%s exports %s of type %s, not a function", lib(), name, type);
	}
	free(out);
}
END_TEST

/* The preload library depends on libc alone: no other library enters the
 * program's global scope with it (libunwind's unversioned _Unwind_* took
 * over C++ unwinding from libgcc_s; a system libz shadowed a program's
 * bundled one). Its libunwind is built in and hidden. */
START_TEST(needs_libc_only)
{
	const char *argv[] = { "readelf", "-dW", lib(), NULL };
	int st;
	char *out = io_capture(argv, false, &st);
	ck_assert_msg(out && WIFEXITED(st) && !WEXITSTATUS(st), "readelf -d %s failed", lib());
	int needed = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (strstr(line, "(RPATH)") || strstr(line, "(RUNPATH)"))
			ck_abort_msg("%s has a search path of its own: %s", lib(), line);
		if (!strstr(line, "(NEEDED)"))
			continue;
		needed++;
		ck_assert_msg(strstr(line, "[libc.so.6]") != NULL, "%s needs more than libc: %s", lib(), line);
	}
	ck_assert_msg(needed == 1, "%s has %d NEEDED entries, want libc.so.6 alone", lib(), needed);
	free(out);
	/* No libunwind, libgcc or other unwinder symbol exported or leaked. */
	char **all = io_nm(lib(), NULL);
	ck_assert_msg(all != NULL, "nm -D %s failed", lib());
	for (size_t i = 0; all[i]; i++)
		ck_assert_msg(strncmp(all[i], "_Unwind_", 8) && strncmp(all[i], "unw_", 4) &&
				      strncmp(all[i], "_U", 2),
			      "%s references or exports an unwinder symbol: %s", lib(), all[i]);
	io_strv_free(all);
}
END_TEST

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/cgoshim.map\n", argv[0]);
		return 99;
	}
	map_path = argv[1];
	if (!io_have("nm")) {
		printf("SKIP: nm (binutils) is not installed\n");
		return 77;
	}
	Suite *s = suite_create("io-exports");
	TCase *tc = tcase_create("exports");
	tcase_add_test(tc, exports_match_map);
	tcase_add_test(tc, exports_are_libc_or_api);
	tcase_add_test(tc, every_entry_point_exported);
	tcase_add_test(tc, transparency_entry_points_exported);
	tcase_add_test(tc, no_tls_get_addr);
	tcase_add_test(tc, needs_libc_only);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
