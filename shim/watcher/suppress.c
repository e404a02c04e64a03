/* suppress.c - LSan-format leak suppressions (suppress.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "suppress.h"

/* The blocks every process holds for its threads and never frees before it
 * ends: the loader's per-thread storage (the DTV, dynamic TLS blocks) and
 * its dlopen bookkeeping, and the Go runtime's per-thread C blocks (cgo's
 * thread start arguments, x_cgo_* set-up). LSan's own list for glibc is
 * the same idea. */
static const char *const builtin[] = {
	"_dl_allocate_tls",
	"_dl_allocate_tls_init",
	"__tls_get_addr",
	"_dl_update_slotinfo",
	"_dl_resize_dtv",
	"_dl_new_object",
	"_dl_map_object",
	"_dl_check_map_versions",
	"^_cgo_try_pthread_create$",
	"^x_cgo_thread_start$",
	"^_cgo_sys_thread_start$",
};

static bool add(struct cgs_supp *s, const char *pat, size_t len, bool builtin_rule)
{
	struct cgs_supp_rule *v = realloc(s->rules, (s->n + 1) * sizeof(*v));
	if (!v)
		return false;
	s->rules = v;
	char *p = strndup(pat, len);
	if (!p)
		return false;
	v[s->n++] = (struct cgs_supp_rule){ p, builtin_rule };
	return true;
}

size_t cgs_supp_parse(struct cgs_supp *s, const char *text, size_t *first_bad)
{
	size_t bad = 0, lineno = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		const char *a = p, *z = p + len;
		while (a < z && (*a == ' ' || *a == '\t'))
			a++;
		while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\r'))
			z--;
		if (a < z && *a != '#') {
			if ((size_t)(z - a) > 5 && !strncmp(a, "leak:", 5))
				add(s, a + 5, (size_t)(z - a - 5), false);
			else if (!bad++ && first_bad)
				*first_bad = lineno;
		}
		p += len + (nl ? 1 : 0);
	}
	return bad;
}

struct cgs_supp *cgs_supp_load(const char *path, bool defaults)
{
	struct cgs_supp *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	for (size_t i = 0; defaults && i < sizeof(builtin) / sizeof(builtin[0]); i++)
		add(s, builtin[i], strlen(builtin[i]), true);
	if (!path || !*path)
		return s;
	FILE *f = fopen(path, "re");
	if (!f) {
		char msg[600];
		snprintf(msg, sizeof(msg), "CGOSHIM_SUPPRESS=%.400s: %s; no suppressions read from it", path,
			 strerror(errno));
		cgs_log(msg, (const char *)NULL);
		return s;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			char *w = realloc(text, cap = cap ? cap * 2 : 8192);
			if (!w)
				break;
			text = w;
		}
		size_t k = fread(text + len, 1, cap - len - 1, f);
		len += k;
		if (!k)
			break;
	}
	fclose(f);
	if (!text)
		return s;
	text[len] = 0;
	size_t first = 0, bad = cgs_supp_parse(s, text, &first);
	free(text);
	if (bad) {
		char msg[600];
		snprintf(msg, sizeof(msg), "CGOSHIM_SUPPRESS=%.400s: %zu line%s not of the form leak:PATTERN "
			 "(first: line %zu), ignored", path, bad, bad == 1 ? "" : "s", first);
		cgs_log(msg, (const char *)NULL);
	}
	return s;
}

void cgs_supp_free(struct cgs_supp *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->rules[i].pattern);
	free(s->rules);
	free(s);
}

/* Glob with '*' over [p, pe) against all of [n, ne). */
static bool glob(const char *p, const char *pe, const char *n, const char *ne)
{
	const char *star = NULL, *back = NULL;
	while (n < ne) {
		if (p < pe && *p == '*') {
			star = ++p;
			back = n;
		} else if (p < pe && *p == *n) {
			p++;
			n++;
		} else if (star) {
			p = star;
			n = ++back;
		} else {
			return false;
		}
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

bool cgs_supp_match(const char *pattern, const char *name)
{
	if (!pattern || !name || !*pattern)
		return false;
	const char *p = pattern, *pe = pattern + strlen(pattern);
	bool start = *p == '^', end = pe > p + start && pe[-1] == '$';
	if (start)
		p++;
	if (end)
		pe--;
	/* Unanchored ends match anywhere: as if the pattern began and ended with '*'. */
	size_t len = (size_t)(pe - p);
	char stack[256], *pat = len + 3 <= sizeof(stack) ? stack : malloc(len + 3);
	if (!pat)
		return false;
	size_t k = 0;
	if (!start)
		pat[k++] = '*';
	memcpy(pat + k, p, len);
	k += len;
	if (!end)
		pat[k++] = '*';
	bool hit = glob(pat, pat + k, name, name + strlen(name));
	if (pat != stack)
		free(pat);
	return hit;
}

int cgs_supp_find(const struct cgs_supp *s, const struct cgs_frame_info *frames, int nframes)
{
	if (!s)
		return -1;
	for (size_t r = 0; r < s->n; r++)
		for (int k = 0; k < nframes; k++) {
			const struct cgs_frame_info *f = &frames[k];
			if (cgs_supp_match(s->rules[r].pattern, f->function) ||
			    cgs_supp_match(s->rules[r].pattern, f->module) ||
			    cgs_supp_match(s->rules[r].pattern, f->file))
				return (int)r;
		}
	return -1;
}
