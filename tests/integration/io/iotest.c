/* iotest.c - see iotest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "iotest.h"

char *io_capture(const char *const argv[], bool with_stderr, int *status)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return NULL;
	pid_t pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(with_stderr ? p[1] : null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		ssize_t k = read(p[0], buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = 0;
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		;
	if (status)
		*status = st;
	return buf;
}

bool io_have(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	char *copy = strdup(path), *save = NULL;
	bool found = false;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", *d ? d : ".", prog);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

char **io_nm(const char *file, const char *option)
{
	const char *argv[] = { "nm", "-D", option ? option : file, option ? file : NULL, NULL };
	int st;
	char *out = io_capture(argv, false, &st);
	if (!out || !WIFEXITED(st) || WEXITSTATUS(st)) {
		free(out);
		return NULL;
	}
	size_t n = 0;
	char **v = calloc(1, sizeof(*v));
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* "ADDRESS T name@@VER" or "         U name@VER": the last word. */
		char *name = strrchr(line, ' ');
		name = name ? name + 1 : line;
		char *at = strchr(name, '@');
		if (at)
			*at = 0;
		if (!*name)
			continue;
		v = realloc(v, (n + 2) * sizeof(*v));
		v[n++] = strdup(name);
		v[n] = NULL;
	}
	free(out);
	return v;
}

bool io_strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

size_t io_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void io_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

json_t *io_target(json_t *report, const char *kind, const char *target)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(report, "targets"), i, t) {
		const char *k = json_string_value(json_object_get(t, "kind"));
		const char *n = json_string_value(json_object_get(t, "target"));
		if (k && n && !strcmp(k, kind) && !strcmp(n, target))
			return t;
	}
	return NULL;
}

long long io_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

long long io_tcount(json_t *report, const char *kind, const char *target)
{
	json_t *t = io_target(report, kind, target);
	return t ? io_int(t, "count") : 0;
}

long long io_tcount_kind(json_t *report, const char *kind)
{
	long long sum = 0;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(report, "targets"), i, t) {
		const char *k = json_string_value(json_object_get(t, "kind"));
		if (k && !strcmp(k, kind))
			sum += io_int(t, "count");
	}
	return sum;
}

/* Directories made and not yet removed: a failed assertion ends the test
 * (check's forked child exits), so an exit handler removes what is left. */
static char *live_dirs[16];

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void remove_live_dirs(void)
{
	for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
		if (live_dirs[i])
			remove_tree(live_dirs[i]);
}

char *io_mkdtemp(void)
{
	static bool registered;
	char *d = strdup("/tmp/cgoshim-io-XXXXXX");
	if (!mkdtemp(d)) {
		free(d);
		return NULL;
	}
	if (!registered)
		registered = atexit(remove_live_dirs) == 0;
	for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
		if (!live_dirs[i]) {
			live_dirs[i] = d;
			break;
		}
	return d;
}

void io_rmdir(char *dir)
{
	if (!dir)
		return;
	for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
		if (live_dirs[i] == dir)
			live_dirs[i] = NULL;
	remove_tree(dir);
	free(dir);
}

int io_write_file(const char *dir, const char *name, const char *text)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

const char *io_diff(const char *a, const char *b)
{
	static char msg[4096];
	size_t used = 0;
	int line = 1, shown = 0, differing = 0;
	msg[0] = 0;
	while (*a || *b) {
		int na = (int)strcspn(a, "\n"), nb = (int)strcspn(b, "\n");
		if (na != nb || memcmp(a, b, (size_t)na)) {
			differing++;
			if (shown < 8 && used < sizeof(msg) - 1) {
				int k = snprintf(msg + used, sizeof(msg) - used,
						 "\n  line %d: without shim \"%.*s\"\n           with shim    \"%.*s\"", line,
						 na > 300 ? 300 : na, a, nb > 300 ? 300 : nb, b);
				used += k > 0 ? (size_t)k : 0;
				if (used >= sizeof(msg))
					used = sizeof(msg) - 1;
				shown++;
			}
		}
		a += na + (a[na] == '\n');
		b += nb + (b[nb] == '\n');
		line++;
	}
	if (!differing)
		return "(no difference)";
	if (differing > shown && used < sizeof(msg) - 1)
		snprintf(msg + used, sizeof(msg) - used, "\n  ... %d differing lines in all", differing);
	return msg;
}

long long io_untimed(json_t *report, const char *fn)
{
	json_t *c = hcall(report, fn);
	return c ? io_int(c, "not_timed") : 0;
}

long long io_calls(json_t *report, const char *fn)
{
	json_t *c = hcall(report, fn);
	return c ? io_int(c, "count") + io_int(c, "not_timed") : 0;
}
