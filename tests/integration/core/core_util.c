/* core_util.c - see core_util.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_util.h"

const char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

long long jint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

bool site_has_fn(json_t *site, const char *fn)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(site, "frames"), i, f)
		if (!strcmp(jstr(f, "function"), fn))
			return true;
	return false;
}

json_t *site_with_fn(json_t *report, const char *fn)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(json_object_get(report, "leaks"), "sites"), i, s)
		if (site_has_fn(s, fn))
			return s;
	return NULL;
}

void sites_with_fn(json_t *report, const char *fn, long long *count, long long *bytes)
{
	size_t i;
	json_t *s;
	*count = *bytes = 0;
	json_array_foreach(json_object_get(json_object_get(report, "leaks"), "sites"), i, s)
		if (site_has_fn(s, fn)) {
			*count += jint(s, "count");
			*bytes += jint(s, "bytes");
		}
}

void sites_at_fn(json_t *report, const char *fn, long long *count, long long *bytes)
{
	size_t i;
	json_t *s;
	*count = *bytes = 0;
	json_array_foreach(json_object_get(json_object_get(report, "leaks"), "sites"), i, s)
		if (!strcmp(jstr(json_array_get(json_object_get(s, "frames"), 0), "function"), fn)) {
			*count += jint(s, "count");
			*bytes += jint(s, "bytes");
		}
}

int frames_in_module(json_t *report, const char *needle)
{
	size_t i, k;
	json_t *s, *f;
	int n = 0;
	json_array_foreach(json_object_get(json_object_get(report, "leaks"), "sites"), i, s)
		json_array_foreach(json_object_get(s, "frames"), k, f)
			if (strstr(jstr(f, "module"), needle))
				n++;
	return n;
}

int nlines(const char *s)
{
	int n = 0;
	for (const char *p = s; *p; p++)
		if (*p == '\n')
			n++;
	if (*s && s[strlen(s) - 1] != '\n')
		n++;
	return n;
}

int lines_with(const char *s, const char *needle)
{
	int n = 0;
	while (*s) {
		const char *end = strchr(s, '\n');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char *line = strndup(s, len);
		if (strstr(line, needle))
			n++;
		free(line);
		s += len + (end ? 1 : 0);
	}
	return n;
}

int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int report_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "r.", 2))
			n++;
	closedir(d);
	return n;
}

void msleep(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&t, &t))
		;
}

void skip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(77);
}

static char *subst_dir(const char *s, const char *dir)
{
	const char *at = strstr(s, "@DIR@");
	char *out;
	if (!at)
		return strdup(s);
	if (asprintf(&out, "%.*s%s%s", (int)(at - s), s, dir, at + 5) < 0)
		return NULL;
	return out;
}

static json_t *find_final(const char *dir, int pid)
{
	DIR *d = opendir(dir);
	json_t *found = NULL;
	struct dirent *e;
	if (!d)
		return NULL;
	while (!found && (e = readdir(d))) {
		char path[512];
		if (strncmp(e->d_name, "r.", 2))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		json_error_t err;
		json_t *j = json_load_file(path, 0, &err);
		if (j && json_is_true(json_object_get(j, "final")) && jint(j, "pid") == pid)
			found = j;
		else
			json_decref(j);
	}
	closedir(d);
	return found;
}

int crun(const char *const argv[], const char *const env[], bool preload, bool want_final,
	 struct hrun *r)
{
	char dir[256] = "/tmp/cgoshim-core-XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	size_t n = 0;
	while (env && env[n])
		n++;
	char **e = calloc(n + 2, sizeof(char *));
	size_t k = 0;
	if (preload && asprintf(&e[k], "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB")) > 0)
		k++;
	for (size_t i = 0; i < n; i++)
		e[k++] = subst_dir(env[i], dir);
	struct hopts o = { .env = (const char *const *)e, .no_preload = true };
	int rc = hrun(argv, &o, r);
	for (size_t i = 0; i < k; i++)
		free(e[i]);
	free(e);
	/* Use our directory, which the variables named, instead of hrun's. */
	rmdir(r->dir);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	if (want_final) {
		for (int i = 0; i < 1000 && !r->final; i++) {
			r->final = find_final(dir, r->pid);
			if (!r->final)
				msleep(10);
		}
	}
	r->nreports = (size_t)(files_in(dir) > 0 ? files_in(dir) : 0);
	return rc;
}

int core_main(int argc, char **argv, const char *suite, const struct core_case *cases, size_t n)
{
	Suite *s = suite_create(suite);
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t added = 0;
	for (size_t i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		const char *why = cases[i].need ? cases[i].need() : NULL;
		if (why && only)
			skip(why);
		if (why) {
			printf("%s skipped: %s\n", cases[i].name, why);
			continue;
		}
		TCase *t = tcase_create(cases[i].name);
		tcase_add_test(t, cases[i].test);
		suite_add_tcase(s, t);
		added++;
	}
	if (only && !added) {
		fprintf(stderr, "%s: no test case named %s\n", suite, only);
		return 2;
	}
	SRunner *sr = srunner_create(s);
	if (only)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
