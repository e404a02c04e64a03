/* core_util.c - see core_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_util.h"

const char *jstr(json_t *obj, const char *key)
{
	return hjstr(obj, key);
}

long long jint(json_t *obj, const char *key)
{
	return hjint(obj, key);
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
	return hfiles(dir, "");
}

int report_files(const char *dir)
{
	return hfiles(dir, "r.");
}

void msleep(int ms)
{
	hmsleep(ms);
}

void skip(const char *why)
{
	hskip(why);
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
	if (want_final && r->pid > 0)
		r->final = hwait_final(dir, r->pid, 10000);
	r->nreports = (size_t)(files_in(dir) > 0 ? files_in(dir) : 0);
	return rc;
}

int core_main(int argc, char **argv, const char *suite, const struct core_case *cases, size_t n)
{
	struct hcase *h = calloc(n ? n : 1, sizeof(*h));
	for (size_t i = 0; i < n; i++)
		h[i] = (struct hcase){ cases[i].name, cases[i].test, cases[i].need, 0 };
	int rc = hmain(argc, argv, suite, h, n);
	free(h);
	return rc;
}
