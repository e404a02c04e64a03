/* test_core_output.c - report files are written safely (PITFALLS item 19).
 *
 * The shim writes files on behalf of whatever program it is loaded into, so
 * a planted symbolic link must not redirect a report onto another file, a
 * permissive umask must not make a report world-readable, an output place
 * that cannot be written must cost one line on stderr and nothing else, and
 * the shim's own descriptors must not get in the way of a program that
 * closes every descriptor or relies on getting the lowest free number. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include "core_util.h"

static const char hello_out[] = "hello from the test program\n";

static void read_file(const char *path, char *buf, size_t cap)
{
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void rm_rf(const char *dir)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Lines of cgoshim's own on stderr (the report may follow them there). */
static int cgoshim_lines(const char *s)
{
	int n = 0;
	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, "cgoshim: ", 9);
	return n;
}

START_TEST(planted_symlink)
{
	char dir[] = "/tmp/cgoshim-plant-XXXXXX", victim[300], link[300], out[400], buf[256];
	ck_assert(mkdtemp(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/report.json", dir);
	FILE *f = fopen(victim, "w");
	ck_assert(f);
	fputs("precious\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(victim, link), 0);
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s", link);
	const char *env[] = { "CGOSHIM_FORMAT=json", out, NULL };
	const char *argv[] = { hbin("hello"), NULL };
	struct hrun r;
	ck_assert_int_eq(crun(argv, env, true, false, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_str_eq(r.out, hello_out);
	/* hrun returned at the end of stderr, which the watcher holds until it
	 * has tried to write the final report. */
	read_file(victim, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");
	struct stat st;
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	/* One line at start, and the report on stderr instead (issue 16). */
	ck_assert_msg(cgoshim_lines(r.err) == 1, "stderr: %s", r.err);
	ck_assert_msg(strstr(r.err, "\"trigger\": \"exit\""), "the report is not on stderr: %s", r.err);
	ck_assert_msg(strstr(r.err, "cgoshim") && strstr(r.err, link) &&
		      (strstr(r.err, "refuse") || strstr(r.err, "symbolic link")),
		      "stderr does not explain the refusal: %s", r.err);
	ck_assert_int_eq(files_in(dir), 2); /* no temporary file left behind */
	rm_rf(dir);
	hrun_free(&r);
}
END_TEST

START_TEST(umask_zero)
{
	mode_t old = umask(0);
	const char *env[] = { "CGOSHIM_FORMAT=json", "CGOSHIM_OUTPUT=@DIR@/r.%p.%n.json", NULL };
	const char *argv[] = { hbin("hello"), NULL };
	struct hrun r;
	int rc = crun(argv, env, true, true, &r);
	umask(old);
	ck_assert_int_eq(rc, 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report; stderr: %s", r.err);
	DIR *d = opendir(r.dir);
	struct dirent *e;
	int seen = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "r.", 2))
			continue;
		char path[600];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", r.dir, e->d_name);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0600, "%s has mode %o", path, st.st_mode & 07777);
		seen++;
	}
	closedir(d);
	ck_assert_int_eq(seen, 1);
	hrun_free(&r);
}
END_TEST

/* Run hello with CGOSHIM_OUTPUT=path; check one line on stderr and an
 * unchanged program. */
static void unwritable(const char *path, const char *why)
{
	char out[400];
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s", path);
	const char *env[] = { "CGOSHIM_FORMAT=json", out, NULL };
	const char *argv[] = { hbin("hello"), NULL };
	struct hrun r;
	ck_assert_int_eq(crun(argv, env, true, false, &r), 0);
	ck_assert_msg(hexited(&r, 0), "%s: status %#x", why, r.status);
	ck_assert_str_eq(r.out, hello_out);
	printf("%s: stderr: %s", why, r.err);
	ck_assert_msg(cgoshim_lines(r.err) == 1, "%s: %d lines on stderr: %s", why, cgoshim_lines(r.err), r.err);
	ck_assert_msg(strstr(r.err, "\"trigger\": \"exit\""), "%s: the report is not on stderr: %s", why, r.err);
	ck_assert_msg(strstr(r.err, "cgoshim") && strstr(r.err, "cannot write"), "%s: unclear: %s", why, r.err);
	hrun_free(&r);
}

START_TEST(unwritable_dir)
{
	char dir[] = "/tmp/cgoshim-unwr-XXXXXX", path[300], file[300];
	ck_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing/r.%%p.json", dir);
	unwritable(path, "missing directory");
	snprintf(file, sizeof(file), "%s/file", dir);
	FILE *f = fopen(file, "w");
	ck_assert(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/file/r.%%p.json", dir);
	unwritable(path, "a file as directory");
	rm_rf(dir);
}
END_TEST

static const char *need_root(void)
{
	return geteuid() == 0 ? NULL : "needs root to run the program as another user (nobody)";
}

/* As an unprivileged user, in a directory owned by root. */
START_TEST(unwritable_as_user)
{
	char dir[] = "/tmp/cgoshim-unwr-XXXXXX", out[300];
	ck_assert(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/r.%%p.json", dir);
	const char *env[] = { "CGOSHIM_FORMAT=json", out, NULL };
	const char *argv[] = { hbin("asuser"), "65534", getenv("CGOSHIM_TEST_LIB"), hbin("hello"), NULL };
	struct hrun r;
	ck_assert_int_eq(crun(argv, env, false, false, &r), 0);
	if (hexited(&r, 77))
		skip("cannot switch to user 65534");
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, hello_out);
	printf("stderr: %s", r.err);
	ck_assert_msg(cgoshim_lines(r.err) == 1, "%d lines on stderr: %s", cgoshim_lines(r.err), r.err);
	ck_assert_msg(strstr(r.err, "\"trigger\": \"exit\""), "the report is not on stderr: %s", r.err);
	ck_assert_msg(strstr(r.err, "cgoshim") && strstr(r.err, "cannot write") && strstr(r.err, dir),
		      "unclear: %s", r.err);
	ck_assert_int_eq(files_in(dir), 0);
	rm_rf(dir);
	hrun_free(&r);
}
END_TEST

START_TEST(close_all_fds)
{
	struct hrun r, plain;
	const char *argv[] = { hbin("fds"), "closeall", NULL };
	struct hopts po = { .no_preload = true };
	ck_assert_int_eq(hrun(argv, &po, &plain), 0);
	ck_assert(hexited(&plain, 0));
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, plain.out);
	ck_assert_str_eq(r.out, "fds closeall: first open after close_range returned 3\n");
	ck_assert_str_eq(r.err, "");
	ck_assert_msg(r.final, "no final report after close_range");
	long long c, b;
	sites_at_fn(r.final, "early_leak", &c, &b);
	ck_assert_int_eq(c, 4);
	sites_at_fn(r.final, "late_leak", &c, &b);
	ck_assert_msg(c == 2, "late leaks missing: the report was written before the program ended");
	ck_assert_int_eq(b, 2 * 8888);
	ck_assert_int_eq(r.nreports, 1);
	hrun_free(&r);
	hrun_free(&plain);
}
END_TEST

START_TEST(lowest_fd)
{
	struct hrun r, plain;
	const char *argv[] = { hbin("fds"), "lowest", NULL };
	struct hopts po = { .no_preload = true };
	ck_assert_int_eq(hrun(argv, &po, &plain), 0);
	ck_assert_msg(hexited(&plain, 0), "without the shim: %s", plain.out);
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert_str_eq(r.out, plain.out);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_msg(r.final, "no final report");
	hrun_free(&r);
	hrun_free(&plain);
}
END_TEST

/* CGOSHIM_OUTPUT=/dev/null drops the reports: written to the device as it
 * is (not created beside it and renamed), so no process complains, and
 * /dev/null stays the device. Eleven fork children and the parent. */
START_TEST(dev_null)
{
	const char *env[] = { "CGOSHIM_OUTPUT=/dev/null", NULL };
	const char *argv[] = { hbin("forker"), "fork", NULL };
	struct hrun r;
	ck_assert_int_eq(crun(argv, env, true, false, &r), 0);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "forker: children ok: yes"), "stdout: %s", r.out);
	/* stderr is read to its end, which the watchers hold until they
	 * have written: their complaints would be in it. */
	ck_assert_str_eq(r.err, "");
	struct stat st;
	ck_assert_int_eq(lstat("/dev/null", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	hrun_free(&r);
}
END_TEST

START_TEST(no_shim_fds)
{
	struct hrun r, plain;
	const char *argv[] = { hbin("fds"), "list", NULL };
	struct hopts po = { .no_preload = true };
	ck_assert_int_eq(hrun(argv, &po, &plain), 0);
	ck_assert_msg(hexited(&plain, 0), "without the shim: %s", plain.err);
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	printf("without the shim:\n%swith:\n%s", plain.out, r.out);
	ck_assert_msg(hexited(&r, 0), "status %#x; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, plain.out);
	ck_assert_str_eq(r.err, "");
	/* Three images, three final reports: the exec is seen without any
	 * descriptor of the shim's in the program. */
	size_t n;
	json_t **v = hreports(&r, &n);
	int finals = 0;
	for (size_t i = 0; i < n; i++)
		finals += json_is_true(json_object_get(v[i], "final"));
	hreports_free(v, n);
	ck_assert_int_eq(finals, 3);
	hrun_free(&r);
	hrun_free(&plain);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "symlink", planted_symlink, NULL },
		{ "umask", umask_zero, NULL },
		{ "unwritable", unwritable_dir, NULL },
		{ "unwritable-user", unwritable_as_user, need_root },
		{ "closeall", close_all_fds, NULL },
		{ "lowest", lowest_fd, NULL },
		{ "no-shim-fds", no_shim_fds, NULL },
		{ "dev-null", dev_null, NULL },
	};
	return core_main(argc, argv, "core-output", cases, sizeof(cases) / sizeof(cases[0]));
}
