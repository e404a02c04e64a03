/* test_core_symcache.c - the symbol cache shared across processes.
 *
 * The watcher keeps resolved addresses in one file per module build-id
 * (CGOSHIM_SYMBOL_CACHE, by default $XDG_CACHE_HOME/cgoshim): a later
 * process of the same binary names its frames from there without reading
 * DWARF. What a user checks: the second run's leak site is the first's,
 * frame by frame; the files are private (0600 in a 0700 directory); the
 * second run really reads the file (an entry edited in it shows in the
 * report); a symlink planted in place of a file is not followed. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_util.h"
#include "harness.h"

static char cache[300];

static json_t *hello_site(struct hrun *r)
{
	char env0[400];
	snprintf(env0, sizeof(env0), "CGOSHIM_SYMBOL_CACHE=%s", cache);
	const char *argv[] = { hbin("hello"), NULL };
	const char *env[] = { env0, NULL };
	struct hopts o = { .env = env };
	ck_assert_int_eq(hrun(argv, &o, r), 0);
	ck_assert_msg(hexited(r, 0) && r->final, "hello failed; stderr: %s", r->err);
	json_t *sites = json_object_get(json_object_get(r->final, "leaks"), "sites");
	size_t i;
	json_t *site;
	json_array_foreach(sites, i, site)
		if (hjint(site, "bytes") == 4321)
			return json_object_get(site, "frames");
	ck_abort_msg("no site of 4321 bytes");
	return NULL;
}

static void make_cache(void)
{
	char tmpl[] = "/tmp/cgs-symcache-XXXXXX";
	ck_assert(mkdtemp(tmpl));
	snprintf(cache, sizeof(cache), "%s/cgoshim", tmpl);
}

/* The cache file that names hello_leak (the program's own module). */
static bool program_file(char *path, size_t n)
{
	DIR *d = opendir(cache);
	struct dirent *e;
	bool found = false;
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char p[700], line[1024];
		snprintf(p, sizeof(p), "%s/%s", cache, e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "\thello_leak\t")) {
				snprintf(path, n, "%s", p);
				found = true;
				break;
			}
		fclose(f);
	}
	closedir(d);
	return found;
}

START_TEST(reuse)
{
	make_cache();
	struct hrun a, b;
	json_t *fa = hello_site(&a);
	char path[700];
	ck_assert_msg(program_file(path, sizeof(path)), "no cache file in %s names hello_leak", cache);
	struct stat st;
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	json_t *fb = hello_site(&b);
	ck_assert_int_ge(json_array_size(fa), 3);
	ck_assert_int_eq(json_array_size(fa), json_array_size(fb));
	for (size_t i = 0; i < json_array_size(fa); i++) {
		json_t *x = json_array_get(fa, i), *y = json_array_get(fb, i);
		printf("frame %zu: %s %s:%lld | %s %s:%lld\n", i, jstr(x, "function"), jstr(x, "file"),
		       hjint(x, "line"), jstr(y, "function"), jstr(y, "file"), hjint(y, "line"));
		ck_assert_str_eq(jstr(x, "function"), jstr(y, "function"));
		ck_assert_str_eq(jstr(x, "file"), jstr(y, "file"));
		ck_assert_int_eq(hjint(x, "line"), hjint(y, "line"));
	}
	ck_assert_str_eq(jstr(json_array_get(fa, 0), "function"), "hello_leak");
	hrun_free(&a);
	hrun_free(&b);
}
END_TEST

/* Rename hello_leak in the cache file: the next report says so. */
START_TEST(read_back)
{
	make_cache();
	struct hrun a, b;
	hello_site(&a);
	char path[700], cmd[1600];
	ck_assert(program_file(path, sizeof(path)));
	snprintf(cmd, sizeof(cmd), "sed -i 's/\\thello_leak\\t/\\tfrom_the_cache\\t/' '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	json_t *fb = hello_site(&b);
	ck_assert_str_eq(jstr(json_array_get(fb, 0), "function"), "from_the_cache");
	hrun_free(&a);
	hrun_free(&b);
}
END_TEST

/* A symlink where the cache file goes: not followed, its target untouched,
 * the report still right (from DWARF). */
START_TEST(symlink_refused)
{
	make_cache();
	struct hrun a, b;
	hello_site(&a);
	char path[700], target[800];
	ck_assert(program_file(path, sizeof(path)));
	snprintf(target, sizeof(target), "%s.target", cache);
	FILE *t = fopen(target, "w");
	ck_assert(t);
	fclose(t);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	json_t *fb = hello_site(&b);
	ck_assert_str_eq(jstr(json_array_get(fb, 0), "function"), "hello_leak");
	struct stat st;
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	hrun_free(&a);
	hrun_free(&b);
}
END_TEST

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "reuse", reuse, NULL },
		{ "read-back", read_back, NULL },
		{ "symlink", symlink_refused, NULL },
	};
	return core_main(argc, argv, "core-symcache", cases, sizeof(cases) / sizeof(cases[0]));
}
