/* cli_diffrun.c - "cgoshim diff" over repeated runs:
 *
 *	cgoshim diff [OPTION]... BASE1.json BASE2.json ... -- NEW1.json NEW2.json ...
 *	cgoshim diff [OPTION]... BASEDIR NEWDIR
 *
 * One report per run (a directory stands for the *.json files in it). For
 * each function and quantile (p50, p99, p99.9) the per-run values of the two
 * sides are compared with the Mann-Whitney U test (two-sided; exact
 * distribution when both sides have at most 30 runs and there are no ties,
 * else the normal approximation with the tie correction and a continuity
 * correction), as benchstat does. The change is the ratio of the medians,
 * with a 95% bootstrap confidence interval (2000 resamples, fixed seed, so
 * the output is a pure function of the input).
 *
 * A threshold (--max-p99-regress=10% ...) fails a function only when all of
 * these hold: the change is significant after the Holm-Bonferroni
 * correction over every comparison a threshold applies to (--alpha, default
 * 0.05), the median change is beyond the threshold, and the medians' ranges
 * under the histogram's error bound (1/64) do not overlap by it either. So
 * ten identical runs against ten identical runs do not fail by chance, and a
 * 20% slower function in every run of one side does.
 *
 * --max-leak-growth compares the medians of the leaked bytes (the lost kinds
 * when every report has kinds).
 *
 * Reports of different programs (another executable's base name) are
 * refused with status 2 unless --force. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum { Q50, Q99, Q999, NQ };
static const char *const q_key[NQ] = { "p50_ns", "p99_ns", "p999_ns" };
static const char *const q_name[NQ] = { "p50", "p99", "p99.9" };
static const char *const q_json[NQ] = { "p50", "p99", "p999" };

/* ---- Loading a side ------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand a directory into its *.json files, sorted; a file stays itself. */
static int expand(const char *path, char ***out, size_t *n)
{
	struct stat st;
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		*out = realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = strdup(path);
		return 0;
	}
	DIR *d = opendir(path);
	if (!d) {
		cgs_cli_error("diff", "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t first = *n;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") || e->d_name[0] == '.')
			continue;
		char *p = malloc(strlen(path) + l + 2);
		sprintf(p, "%s/%s", path, e->d_name);
		*out = realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = p;
	}
	closedir(d);
	if (*n == first) {
		cgs_cli_error("diff", "%s: a directory with no *.json report in it", path);
		return -1;
	}
	qsort(*out + first, *n - first, sizeof(**out), name_cmp);
	return 0;
}

struct side {
	char **paths;
	json_t **r;
	size_t n;
};

static int load_side(struct side *s, char **args, size_t nargs)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < nargs; i++)
		if (expand(args[i], &s->paths, &s->n))
			return -1;
	s->r = calloc(s->n + 1, sizeof(*s->r));
	for (size_t i = 0; i < s->n; i++)
		if (!(s->r[i] = cgs_cli_load("diff", s->paths[i])))
			return -1;
	return 0;
}

static void free_side(struct side *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->r)
			json_decref(s->r[i]);
		free(s->paths[i]);
	}
	free(s->r);
	free(s->paths);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* ---- Statistics ------------------------------------------------------------ */

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
	double *t = malloc(n * sizeof(*t));
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), dbl_cmp);
	double m = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	free(t);
	return m;
}

/* P(U <= u) under H0 with no ties, by the recurrence on the number of
 * arrangements: f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u). */
static double exact_cdf(int m, int n, int u)
{
	int max = m * n;
	if (u < 0)
		return 0;
	if (u >= max)
		return 1;
	/* c[j][k]: arrangements of j values of one side and n of the other
	 * with U = k, built up over j; counts fit a double exactly here. */
	double *prev = calloc((size_t)max + 1, sizeof(double)), *cur = calloc((size_t)max + 1, sizeof(double));
	double **tab = malloc((size_t)(n + 1) * sizeof(double *));
	/* f(0, k, u) = [u == 0] for every k */
	for (int k = 0; k <= n; k++) {
		tab[k] = calloc((size_t)max + 1, sizeof(double));
		tab[k][0] = 1;
	}
	for (int j = 1; j <= m; j++) {
		double **nt = malloc((size_t)(n + 1) * sizeof(double *));
		nt[0] = calloc((size_t)max + 1, sizeof(double));
		nt[0][0] = 1; /* f(j, 0, 0) = 1 */
		for (int k = 1; k <= n; k++) {
			nt[k] = calloc((size_t)max + 1, sizeof(double));
			for (int x = 0; x <= j * k; x++)
				nt[k][x] = (x - k >= 0 ? tab[k][x - k] : 0) + nt[k - 1][x];
		}
		for (int k = 0; k <= n; k++)
			free(tab[k]);
		free(tab);
		tab = nt;
	}
	double total = 0, below = 0;
	for (int x = 0; x <= max; x++) {
		total += tab[n][x];
		if (x <= u)
			below += tab[n][x];
	}
	for (int k = 0; k <= n; k++)
		free(tab[k]);
	free(tab);
	free(prev);
	free(cur);
	return below / total;
}

/* Two-sided p-value of the Mann-Whitney U test of a (n1) against b (n2). */
static double mann_whitney(const double *a, size_t n1, const double *b, size_t n2)
{
	size_t n = n1 + n2;
	struct { double v; int side; double rank; } *all = malloc(n * sizeof(*all));
	for (size_t i = 0; i < n1; i++)
		all[i].v = a[i], all[i].side = 0;
	for (size_t i = 0; i < n2; i++)
		all[n1 + i].v = b[i], all[n1 + i].side = 1;
	/* sort by value (insertion: n is small) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && all[j - 1].v > all[j].v; j--) {
			__typeof__(*all) t = all[j];
			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	double tie_term = 0;
	bool ties = false;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && all[j].v == all[i].v)
			j++;
		double r = (double)(i + 1 + j) / 2; /* average of ranks i+1..j */
		for (size_t k = i; k < j; k++)
			all[k].rank = r;
		double t = (double)(j - i);
		if (t > 1) {
			ties = true;
			tie_term += t * t * t - t;
		}
		i = j;
	}
	double r1 = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i].side == 0)
			r1 += all[i].rank;
	free(all);
	double u1 = r1 - (double)n1 * (double)(n1 + 1) / 2, u2 = (double)n1 * (double)n2 - u1;
	double u = u1 < u2 ? u1 : u2;
	if (!ties && n1 <= 30 && n2 <= 30) {
		double p = 2 * exact_cdf((int)n1, (int)n2, (int)floor(u + 1e-9));
		return p > 1 ? 1 : p;
	}
	double mu = (double)n1 * (double)n2 / 2;
	double var = (double)n1 * (double)n2 / 12 * (((double)n + 1) - tie_term / ((double)n * ((double)n - 1)));
	if (var <= 0)
		return 1; /* every value equal */
	double z = (fabs(u - mu) - 0.5) / sqrt(var);
	if (z < 0)
		z = 0;
	double p = erfc(z / sqrt(2));
	return p > 1 ? 1 : p;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* 95% percentile bootstrap interval of median(b)/median(a) - 1. */
static void boot_ci(const double *a, size_t n1, const double *b, size_t n2, double *lo, double *hi)
{
	enum { R = 2000 };
	double *ra = malloc(n1 * sizeof(double)), *rb = malloc(n2 * sizeof(double)), *ch = malloc(R * sizeof(double));
	size_t k = 0;
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int r = 0; r < R; r++) {
		for (size_t i = 0; i < n1; i++)
			ra[i] = a[rng() % n1];
		for (size_t i = 0; i < n2; i++)
			rb[i] = b[rng() % n2];
		double ma = median(ra, n1), mb = median(rb, n2);
		if (ma > 0)
			ch[k++] = mb / ma - 1;
	}
	if (!k) {
		*lo = *hi = NAN;
	} else {
		qsort(ch, k, sizeof(double), dbl_cmp);
		*lo = ch[(size_t)(0.025 * (double)(k - 1))];
		*hi = ch[(size_t)(0.975 * (double)(k - 1))];
	}
	free(ra);
	free(rb);
	free(ch);
}

/* ---- The comparison ---------------------------------------------------------- */

struct qstat {
	bool have;        /* both sides have at least 2 values */
	size_t n1, n2;
	double mb, mn;    /* medians */
	double change, lo, hi;
	double p, padj;
	bool gated;       /* a threshold applies */
	bool significant; /* padj < alpha and outside the error bound */
	bool crossed;
	const char *verdict;
};

struct fnstat {
	const char *fn;
	bool in_base, in_new, checked;
	double cb, cn; /* median counts */
	struct qstat q[NQ];
};

static size_t values(const struct side *s, const char *fn, const char *key, double *out)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		const json_t *c = cgs_cli_find_call(s->r[i], fn);
		if (c)
			out[k++] = (double)cgs_cli_u64(c, key);
	}
	return k;
}

struct qref {
	double p;
	struct qstat *q;
};

static int qref_cmp(const void *a, const void *b)
{
	double x = ((const struct qref *)a)->p, y = ((const struct qref *)b)->p;
	return x < y ? -1 : x > y;
}

static bool has_fn(struct fnstat *f, size_t n, const char *fn)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].fn, fn))
			return true;
	return false;
}

int cgs_cli_diff_runs(const struct cgs_diff_args *o, char **bargs, size_t nb, char **nargs, size_t nn)
{
	struct side sb, sn;
	int rc = CGS_CLI_USAGE;
	if (load_side(&sb, bargs, nb) || load_side(&sn, nargs, nn)) {
		free_side(&sb);
		free_side(&sn);
		return CGS_CLI_USAGE;
	}
	/* One program on both sides. */
	const char *prog = base_name(cgs_cli_str(sb.r[0], "exe"));
	for (int side = 0; side < 2; side++) {
		struct side *s = side ? &sn : &sb;
		for (size_t i = 0; i < s->n; i++) {
			const char *p = base_name(cgs_cli_str(s->r[i], "exe"));
			if (strcmp(p, prog)) {
				if (!o->force) {
					cgs_cli_error("diff", "%s is a report of %s, %s one of %s: different programs"
						      " (--force compares them anyway)", s->paths[i], p, sb.paths[0], prog);
					goto out;
				}
				fprintf(stderr, "cgoshim diff: warning: %s is a report of %s, %s one of %s\n",
					s->paths[i], p, sb.paths[0], prog);
			}
		}
	}
	/* Functions: every name either side has. */
	size_t cap = 16, nf = 0;
	struct fnstat *f = calloc(cap, sizeof(*f));
	for (int side = 0; side < 2; side++) {
		struct side *s = side ? &sn : &sb;
		for (size_t i = 0; i < s->n; i++) {
			size_t k;
			const json_t *c;
			json_array_foreach(json_object_get(s->r[i], "calls"), k, c) {
				const char *fn = cgs_cli_str(c, "fn");
				if (has_fn(f, nf, fn))
					continue;
				if (nf == cap)
					f = realloc(f, (cap *= 2) * sizeof(*f));
				memset(&f[nf], 0, sizeof(f[nf]));
				f[nf++].fn = fn;
			}
		}
	}
	size_t maxn = sb.n > sn.n ? sb.n : sn.n;
	double *va = malloc((maxn + 1) * sizeof(double)), *vb = malloc((maxn + 1) * sizeof(double));
	struct qref *refs = calloc(nf * NQ + 1, sizeof(*refs));
	size_t nrefs = 0;
	for (size_t i = 0; i < nf; i++) {
		struct fnstat *w = &f[i];
		size_t n1 = values(&sb, w->fn, "count", va), n2 = values(&sn, w->fn, "count", vb);
		w->in_base = n1 > 0;
		w->in_new = n2 > 0;
		w->cb = n1 ? median(va, n1) : 0;
		w->cn = n2 ? median(vb, n2) : 0;
		w->checked = cgs_cli_fn_selected(o, w->fn) && n1 && n2 && w->cb >= (double)o->min_count &&
			     w->cn >= (double)o->min_count;
		for (int q = 0; q < NQ; q++) {
			struct qstat *x = &w->q[q];
			n1 = values(&sb, w->fn, q_key[q], va);
			n2 = values(&sn, w->fn, q_key[q], vb);
			x->n1 = n1;
			x->n2 = n2;
			x->verdict = "same";
			if (n1 < 2 || n2 < 2)
				continue;
			x->have = true;
			x->mb = median(va, n1);
			x->mn = median(vb, n2);
			x->change = x->mb > 0 ? x->mn / x->mb - 1 : 0;
			boot_ci(va, n1, vb, n2, &x->lo, &x->hi);
			x->p = mann_whitney(va, n1, vb, n2);
			x->padj = x->p;
			x->gated = w->checked && o->has_q[q];
			if (x->gated)
				refs[nrefs++] = (struct qref){ x->p, x };
		}
	}
	/* Holm-Bonferroni over the gated comparisons; the others are shown
	 * with their own p and judged against alpha alone. */
	qsort(refs, nrefs, sizeof(*refs), qref_cmp);
	double run = 0;
	for (size_t k = 0; k < nrefs; k++) {
		double adj = (double)(nrefs - k) * refs[k].p;
		if (adj > 1)
			adj = 1;
		if (adj < run)
			adj = run;
		run = adj;
		refs[k].q->padj = adj;
	}
	int crossed = 0;
	for (size_t i = 0; i < nf; i++)
		for (int q = 0; q < NQ; q++) {
			struct qstat *x = &f[i].q[q];
			if (!x->have)
				continue;
			bool apart_up = x->mn * (1 - CGS_CLI_QERR) > x->mb * (1 + CGS_CLI_QERR);
			bool apart_down = x->mn * (1 + CGS_CLI_QERR) < x->mb * (1 - CGS_CLI_QERR);
			x->significant = x->padj < o->alpha && (apart_up || apart_down);
			x->verdict = !x->significant ? "same" : apart_up ? "slower" : "faster";
			x->crossed = x->gated && x->significant && apart_up &&
				     x->mn * (1 - CGS_CLI_QERR) > x->mb * (1 + CGS_CLI_QERR) * (1 + o->max_q[q]);
			crossed += x->crossed;
		}
	/* Leaks: medians of the leaked bytes; the lost kinds when every report
	 * has kinds (README "Leak kinds"), else every live block. */
	bool by_kind = !o->leak_all;
	for (size_t i = 0; i < sb.n; i++)
		by_kind = by_kind && cgs_cli_kinds_known(json_object_get(sb.r[i], "leaks"));
	for (size_t i = 0; i < sn.n; i++)
		by_kind = by_kind && cgs_cli_kinds_known(json_object_get(sn.r[i], "leaks"));
	for (size_t i = 0; i < sb.n; i++) {
		const json_t *l = json_object_get(sb.r[i], "leaks");
		va[i] = (double)(by_kind ? cgs_cli_lost(l, "bytes") : cgs_cli_u64(l, "bytes"));
	}
	for (size_t i = 0; i < sn.n; i++) {
		const json_t *l = json_object_get(sn.r[i], "leaks");
		vb[i] = (double)(by_kind ? cgs_cli_lost(l, "bytes") : cgs_cli_u64(l, "bytes"));
	}
	double lb = median(va, sb.n), ln = median(vb, sn.n), growth = ln - lb;
	bool leak_crossed = o->has_leak && growth > (double)o->max_leak;
	crossed += leak_crossed;

	if (o->json) {
		json_t *out = json_object();
		json_object_set_new(out, "schema", json_string("cgoshim-diff/2"));
		json_object_set_new(out, "mode", json_string("runs"));
		for (int side = 0; side < 2; side++) {
			struct side *s = side ? &sn : &sb;
			json_t *files = json_array();
			for (size_t i = 0; i < s->n; i++)
				json_array_append_new(files, json_string(s->paths[i]));
			json_object_set_new(out, side ? "new" : "base",
					    json_pack("{s:I, s:s, s:o}", "runs", (json_int_t)s->n, "exe",
						      cgs_cli_str(s->r[0], "exe"), "files", files));
		}
		json_object_set_new(out, "alpha", json_real(o->alpha));
		json_object_set_new(out, "error_bound", json_real(CGS_CLI_QERR));
		json_object_set_new(out, "comparisons_corrected", json_integer((json_int_t)nrefs));
		json_t *fns = json_array(), *cr = json_array();
		for (size_t i = 0; i < nf; i++) {
			struct fnstat *w = &f[i];
			json_t *fj = json_pack("{s:s, s:s, s:b, s:{s:f, s:f}}", "fn", w->fn, "status",
					       !w->in_base ? "new" : !w->in_new ? "gone" : "both", "checked", w->checked,
					       "count", "base", w->cb, "new", w->cn);
			for (int q = 0; q < NQ; q++) {
				struct qstat *x = &w->q[q];
				json_t *qj;
				if (!x->have)
					qj = json_pack("{s:I, s:I, s:s}", "runs_base", (json_int_t)x->n1, "runs_new",
						       (json_int_t)x->n2, "verdict", "not compared");
				else
					qj = json_pack("{s:I, s:I, s:f, s:f, s:f, s:[f, f], s:f, s:f, s:s, s:b, s:b}",
						       "runs_base", (json_int_t)x->n1, "runs_new", (json_int_t)x->n2,
						       "base", x->mb, "new", x->mn, "change", x->change, "ci95",
						       isfinite(x->lo) ? x->lo : 0.0, isfinite(x->hi) ? x->hi : 0.0, "p",
						       x->p, "p_adjusted", x->padj, "verdict", x->verdict, "gated", x->gated,
						       "crossed", x->crossed);
				json_object_set_new(fj, q_json[q], qj);
				if (x->crossed)
					json_array_append_new(cr, json_pack("{s:s, s:s, s:f, s:f, s:f, s:f}", "what",
						q_json[q], "fn", w->fn, "change", x->change, "p_adjusted", x->padj,
						"base", x->mb, "new", x->mn));
			}
			json_array_append_new(fns, fj);
		}
		json_object_set_new(out, "functions", fns);
		json_object_set_new(out, "leaks", json_pack("{s:f, s:f, s:f, s:b}", "base_bytes_median", lb,
							    "new_bytes_median", ln, "growth_bytes", growth, "crossed",
							    leak_crossed));
		if (leak_crossed)
			json_array_append_new(cr, json_pack("{s:s, s:f, s:I}", "what", "leak_growth", "growth", growth,
							    "limit", (json_int_t)o->max_leak));
		json_object_set_new(out, "crossed", cr);
		json_object_set_new(out, "ok", json_boolean(!crossed));
		json_dumpf(out, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
		fputc('\n', stdout);
		json_decref(out);
	} else {
		printf("base: %zu runs of %s (%s ...)\n", sb.n, cgs_cli_str(sb.r[0], "exe"), sb.paths[0]);
		printf("new:  %zu runs of %s (%s ...)\n", sn.n, cgs_cli_str(sn.r[0], "exe"), sn.paths[0]);
		printf("Medians over the runs; change with its 95%% bootstrap interval; p from the\n"
		       "Mann-Whitney U test, Holm-adjusted over the %zu comparison%s a threshold applies to;\n"
		       "a verdict other than \"same\" is significant at alpha %g and beyond the 1.6%% error.\n\n",
		       nrefs, nrefs == 1 ? "" : "s", o->alpha);
		int wd = 8;
		for (size_t i = 0; i < nf; i++)
			if ((int)strlen(f[i].fn) > wd)
				wd = (int)strlen(f[i].fn);
		if (wd > 40)
			wd = 40;
		printf("%-*s  %-6s %11s %11s %8s  %-19s %8s  %s\n", wd, "function", "metric", "base", "new", "change",
		       "95% interval", "p", "verdict");
		char t1[32], t2[32];
		for (size_t i = 0; i < nf; i++) {
			struct fnstat *w = &f[i];
			if (!w->in_base || !w->in_new) {
				printf("%-*.*s  %-6s %11.0f %11.0f %8s  %-19s %8s  %s\n", wd, wd, w->fn, "count", w->cb,
				       w->cn, "", "", "", w->in_base ? "gone" : "new");
				continue;
			}
			char ch[32];
			snprintf(ch, sizeof(ch), w->cb > 0 ? "%+.1f%%" : "-", (w->cn / (w->cb > 0 ? w->cb : 1) - 1) * 100);
			printf("%-*.*s  %-6s %11.0f %11.0f %8s\n", wd, wd, w->fn, "count", w->cb, w->cn, ch);
			for (int q = 0; q < NQ; q++) {
				struct qstat *x = &w->q[q];
				if (!x->have) {
					printf("%-*s  %-6s %11s %11s %8s  %-19s %8s  %s\n", wd, "", q_name[q], "-", "-", "",
					       "", "", "not compared (fewer than 2 runs with it)");
					continue;
				}
				char ci[48], mark[96] = "", pv[16];
				snprintf(ch, sizeof(ch), "%+.1f%%", x->change * 100);
				snprintf(ci, sizeof(ci), "[%+.1f%%, %+.1f%%]", x->lo * 100, x->hi * 100);
				snprintf(pv, sizeof(pv), "%.2g", x->padj);
				if (x->crossed)
					snprintf(mark, sizeof(mark), "  FAIL (more than %g%% slower)", o->max_q[q] * 100);
				printf("%-*s  %-6s %11s %11s %8s  %-19s %8s  %s%s\n", wd, "", q_name[q],
				       cgs_cli_ns((uint64_t)llround(x->mb), t1, sizeof(t1)),
				       cgs_cli_ns((uint64_t)llround(x->mn), t2, sizeof(t2)), ch, ci, pv, x->verdict, mark);
			}
		}
		char b1[32], b2[32], b3[32];
		printf("\nleaks compared: %s\n", by_kind ? "the lost kinds (definitely, indirectly and possibly lost)"
		       : "every live block");
		printf("leaked bytes (median)  %s -> %s (%s%s)%s\n", cgs_cli_bytes(lb, b1, sizeof(b1)),
		       cgs_cli_bytes(ln, b2, sizeof(b2)), growth >= 0 ? "+" : "", cgs_cli_bytes(growth, b3, sizeof(b3)),
		       leak_crossed ? "  FAIL (above --max-leak-growth)" : "");
		printf("\n");
		if (crossed) {
			printf("FAIL: %d threshold%s crossed:", crossed, crossed > 1 ? "s" : "");
			const char *sep = " ";
			for (size_t i = 0; i < nf; i++)
				for (int q = 0; q < NQ; q++)
					if (f[i].q[q].crossed) {
						printf("%s%s %s %+.1f%% (p %.2g) > %g%%", sep, f[i].fn, q_name[q],
						       f[i].q[q].change * 100, f[i].q[q].padj, o->max_q[q] * 100);
						sep = ", ";
					}
			if (leak_crossed)
				printf("%sleaks +%s > %s", sep, cgs_cli_bytes(growth, b1, sizeof(b1)),
				       cgs_cli_bytes((double)o->max_leak, b2, sizeof(b2)));
			printf("\n");
		} else if (o->has_q[Q50] || o->has_q[Q99] || o->has_q[Q999] || o->has_leak) {
			printf("OK: within thresholds\n");
		} else {
			printf("OK: no thresholds given\n");
		}
	}
	rc = fflush(stdout) ? CGS_CLI_USAGE : crossed ? 1 : 0;
	free(va);
	free(vb);
	free(refs);
	free(f);
out:
	free_side(&sb);
	free_side(&sn);
	return rc;
}
