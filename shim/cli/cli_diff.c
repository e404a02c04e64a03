/* cli_diff.c - "cgoshim diff" and "cgoshim merge", and the report reading
 * that "cgoshim html" shares (cli.h).
 *
 *	cgoshim diff BASE.json NEW.json [--max-p50-regress P] [--max-p99-regress P]
 *	             [--max-p999-regress P] [--max-leak-growth SIZE] [--fn NAME]...
 *	             [--min-count N] [--top N] [--json]
 *	cgoshim merge REPORT.json... > merged.json
 *
 * Reading. A report file holds one JSON report, or several appended one per
 * line (JSON Lines). Every report is checked for the members the commands
 * use, with their types; anything wrong ends the command with status 2 and
 * one line naming the file and the member.
 *
 * Diff. Functions are matched by name. A reported quantile lies within 1/64
 * of the true value (hist.h: the middle of a log-linear bucket that spans at
 * most 1/32 of its lower bound), so each one stands for the range
 * [q(1-1/64), q(1+1/64)]. A quantile is "slower" only when NEW's range lies
 * wholly above BASE's, "faster" when wholly below, else "same". A threshold
 * of X% is crossed when NEW's lower bound exceeds BASE's upper bound by more
 * than X%: new(1-1/64) > base(1+1/64)(1+X). Thresholds apply to functions
 * present in both reports (--fn narrows them to some functions, --min-count
 * to those called often enough in both for their p99 to mean something).
 *
 * Leak sites are matched by their frames: function, file and line of each
 * frame, or module and address for a frame without a symbol (an address
 * that matches only while the module loads at the same place). Sites of one
 * report with the same frames are added together. --max-leak-growth bounds
 * the growth of the live C heap as a whole: NEW's leaked bytes minus BASE's.
 *
 * Merge. Reports of one run's processes become one report of the same
 * schema: counts, errors, totals and counters added, min and max combined,
 * histogram buckets added where their le_ns is equal, and the quantiles
 * recomputed from the merged buckets as the library computes them (the
 * middle of the bucket holding the k-th value, clamped to min and max), so
 * they keep the library's error bound. Buckets are placed by the TSC rate of
 * the report they come from; reports from one machine share it. Leak sites
 * are merged by frames (as in diff); the merged site keeps the first report's
 * frames. Slow-call events are put on one timeline (their t_ns shifted by the
 * difference of the processes' start times) and tagged with their pid. The
 * header gets "pid": 0 and "merged": [pids]; exe, cmdline and trigger are kept
 * when every report agrees, else empty; any other member is the first
 * report's. Two reports of one process (same pid and start time, a live dump
 * and the final one) are not added: the later dump is kept. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "hist.h"

/* ---- Messages ----------------------------------------------------------- */

void cgs_cli_error(const char *cmd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "cgoshim %s: ", cmd);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	strcat(line, "\n");
	/* One write: one line, whatever else writes to stderr. */
	ssize_t r = write(STDERR_FILENO, line, strlen(line));
	(void)r;
}

/* ---- Small accessors and formatting ------------------------------------- */

uint64_t cgs_cli_u64(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > 0)
		return (uint64_t)json_real_value(v);
	return 0;
}

const char *cgs_cli_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

const char *cgs_cli_ns(uint64_t ns, char *buf, size_t cap)
{
	double v = (double)ns;
	if (ns < 1000)
		snprintf(buf, cap, "%" PRIu64 "ns", ns);
	else if (v < 1e6)
		snprintf(buf, cap, "%.4gus", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, cap, "%.4gms", v / 1e6);
	else if (v < 1e12)
		snprintf(buf, cap, "%.4gs", v / 1e9);
	else
		snprintf(buf, cap, "%.0fs", v / 1e9);
	return buf;
}

const char *cgs_cli_bytes(double b, char *buf, size_t cap)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double a = fabs(b);
	if (a < 1024) {
		snprintf(buf, cap, "%.0f B", b);
		return buf;
	}
	int u = 0;
	for (a /= 1024, b /= 1024; a >= 1024 && u < 3; u++, a /= 1024)
		b /= 1024;
	snprintf(buf, cap, "%.1f %s", b, unit[u]);
	return buf;
}

const char *cgs_cli_frame_name(const json_t *f, char *buf, size_t cap)
{
	const char *fn = cgs_cli_str(f, "function");
	const char *mod = cgs_cli_str(f, "module");
	const char *addr = cgs_cli_str(f, "addr");
	if (*fn) {
		snprintf(buf, cap, "%s", fn);
	} else if (*mod) {
		const char *base = strrchr(mod, '/');
		snprintf(buf, cap, "%s+%s", base ? base + 1 : mod, *addr ? addr : "?");
	} else {
		snprintf(buf, cap, "%s", *addr ? addr : "?");
	}
	return buf;
}

const char *cgs_cli_frame_where(const json_t *f, char *buf, size_t cap)
{
	const char *file = cgs_cli_str(f, "file");
	uint64_t line = cgs_cli_u64(f, "line");
	if (!*file)
		snprintf(buf, cap, "%s", "");
	else if (line)
		snprintf(buf, cap, "%s:%" PRIu64, file, line);
	else
		snprintf(buf, cap, "%s", file);
	return buf;
}

/* The tick a bucket whose last value prints as le_ns holds: le_ns is that
 * value's ticks * rate rounded, so (le_ns - 0.5) / rate is at most one ns
 * below it, inside the same bucket except among the smallest ones. */
static unsigned bucket_index(uint64_t le_ns, double rate, uint64_t *lo, uint64_t *hi)
{
	if (!(rate > 0) || !isfinite(rate))
		rate = 1;
	double t = ((double)le_ns - 0.5) / rate;
	uint64_t tick = t <= 0 ? 0 : t >= 1.8e19 ? UINT64_MAX : (uint64_t)t;
	unsigned i = cgs_hist_index(tick);
	cgs_hist_bounds(i, lo, hi);
	return i;
}

double cgs_cli_bucket_lo(uint64_t le_ns, double rate)
{
	uint64_t lo, hi;
	bucket_index(le_ns, rate, &lo, &hi);
	if (!(rate > 0) || !isfinite(rate))
		rate = 1;
	double v = (double)lo * rate;
	return v > (double)le_ns ? (double)le_ns : v;
}

/* The value the library reports for a quantile in this bucket: its middle. */
static double bucket_mid(uint64_t le_ns, double rate)
{
	uint64_t lo, hi;
	bucket_index(le_ns, rate, &lo, &hi);
	if (!(rate > 0) || !isfinite(rate))
		rate = 1;
	uint64_t mid = hi - lo == 1 ? lo : lo + (hi - lo) / 2;
	double v = (double)mid * rate + 0.5;
	return v > (double)le_ns ? (double)le_ns : v;
}

static double report_rate(const json_t *r)
{
	double v = json_number_value(json_object_get(json_object_get(r, "tsc"), "ns_per_tick"));
	return v > 0 && isfinite(v) ? v : 1;
}

/* ---- Reading and checking reports --------------------------------------- */

static char why[512]; /* what check_report found wrong */

static bool is_uint(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

static bool need(bool ok, const char *where, const char *key, const json_t *o, const char *what)
{
	if (!ok)
		snprintf(why, sizeof(why), "%s%s%s: %s", where, *where ? "." : "", key,
			 json_object_get(o, key) ? what : "missing");
	return ok;
}

static bool need_uint(const json_t *o, const char *key, const char *where)
{
	return need(is_uint(json_object_get(o, key)), where, key, o, "not a non-negative integer");
}

static bool need_str(const json_t *o, const char *key, const char *where)
{
	return need(json_is_string(json_object_get(o, key)), where, key, o, "not a string");
}

static bool need_type(const json_t *o, const char *key, const char *where, json_type t)
{
	const json_t *v = json_object_get(o, key);
	return need(v && json_typeof(v) == t, where, key, o,
		    t == JSON_ARRAY ? "not an array" : t == JSON_OBJECT ? "not an object" : "wrong type");
}

static const char *const stat_keys[] = { "count", "errors", "total_ns", "min_ns", "max_ns",
					 "p50_ns", "p90_ns", "p99_ns", "p999_ns" };

static bool check_stat(const json_t *o, const char *where)
{
	for (size_t i = 0; i < CGS_ARRAY_LEN(stat_keys); i++)
		if (!need_uint(o, stat_keys[i], where))
			return false;
	if (!need_type(o, "buckets", where, JSON_ARRAY))
		return false;
	size_t i;
	const json_t *b;
	json_array_foreach(json_object_get(o, "buckets"), i, b) {
		char w[400];
		snprintf(w, sizeof(w), "%.300s.buckets[%zu]", where, i);
		if (!json_is_object(b)) {
			snprintf(why, sizeof(why), "%s: not an object", w);
			return false;
		}
		if (!need_uint(b, "le_ns", w) || !need_uint(b, "count", w))
			return false;
	}
	return true;
}

static bool check_frames(const json_t *frames, const char *where)
{
	size_t i;
	const json_t *f;
	json_array_foreach(frames, i, f) {
		char w[400];
		snprintf(w, sizeof(w), "%.300s.frames[%zu]", where, i);
		if (!json_is_object(f)) {
			snprintf(why, sizeof(why), "%s: not an object", w);
			return false;
		}
		static const char *const strs[] = { "function", "module", "file", "addr" };
		for (size_t k = 0; k < CGS_ARRAY_LEN(strs); k++) {
			const json_t *v = json_object_get(f, strs[k]);
			if (v && !json_is_string(v) && !json_is_null(v)) {
				snprintf(why, sizeof(why), "%s.%s: not a string", w, strs[k]);
				return false;
			}
		}
		const json_t *line = json_object_get(f, "line");
		if (line && !is_uint(line)) {
			snprintf(why, sizeof(why), "%s.line: not a non-negative integer", w);
			return false;
		}
	}
	return true;
}

/* true if r has what the commands read; else false with why[] set. */
static bool check_report(const json_t *r)
{
	if (!json_is_object(r)) {
		snprintf(why, sizeof(why), "not a JSON object, so not a cgoshim report");
		return false;
	}
	const json_t *schema = json_object_get(r, "schema");
	if (!json_is_string(schema)) {
		snprintf(why, sizeof(why), "no \"schema\" member: not a cgoshim JSON report");
		return false;
	}
	if (strcmp(json_string_value(schema), "cgoshim/1")) {
		snprintf(why, sizeof(why), "schema is \"%.60s\", expected \"cgoshim/1\"",
			 json_string_value(schema));
		return false;
	}
	if (!need(json_is_integer(json_object_get(r, "pid")), "", "pid", r, "not an integer") ||
	    !need_type(r, "calls", "", JSON_ARRAY) || !need_type(r, "leaks", "", JSON_OBJECT))
		return false;
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(r, "calls"), i, c) {
		char w[300];
		snprintf(w, sizeof(w), "calls[%zu]", i);
		if (!json_is_object(c)) {
			snprintf(why, sizeof(why), "%s: not an object", w);
			return false;
		}
		if (!need_str(c, "fn", w))
			return false;
		snprintf(w, sizeof(w), "calls[%zu] (%.80s)", i, cgs_cli_str(c, "fn"));
		if (!check_stat(c, w))
			return false;
	}
	const json_t *targets = json_object_get(r, "targets");
	if (targets && !need_type(r, "targets", "", JSON_ARRAY))
		return false;
	json_array_foreach(targets, i, c) {
		char w[300];
		snprintf(w, sizeof(w), "targets[%zu]", i);
		if (!json_is_object(c)) {
			snprintf(why, sizeof(why), "%s: not an object", w);
			return false;
		}
		if (!need_str(c, "kind", w) || !need_str(c, "target", w) || !check_stat(c, w))
			return false;
	}
	const json_t *leaks = json_object_get(r, "leaks");
	if (!need_uint(leaks, "count", "leaks") || !need_uint(leaks, "bytes", "leaks") ||
	    !need_type(leaks, "sites", "leaks", JSON_ARRAY))
		return false;
	json_array_foreach(json_object_get(leaks, "sites"), i, c) {
		char w[300];
		snprintf(w, sizeof(w), "leaks.sites[%zu]", i);
		if (!json_is_object(c)) {
			snprintf(why, sizeof(why), "%s: not an object", w);
			return false;
		}
		if (!need_uint(c, "count", w) || !need_uint(c, "bytes", w) ||
		    !need_type(c, "frames", w, JSON_ARRAY) || !check_frames(json_object_get(c, "frames"), w))
			return false;
	}
	const json_t *events = json_object_get(r, "events");
	if (events && !need_type(r, "events", "", JSON_ARRAY))
		return false;
	json_array_foreach(events, i, c) {
		char w[300];
		snprintf(w, sizeof(w), "events[%zu]", i);
		if (!json_is_object(c)) {
			snprintf(why, sizeof(why), "%s: not an object", w);
			return false;
		}
		if (!need_uint(c, "t_ns", w) || !need_uint(c, "dur_ns", w) || !need_str(c, "fn", w))
			return false;
	}
	return true;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0) {
			if (ferror(f)) {
				int e = errno;
				free(buf);
				buf = NULL;
				errno = e ? e : EIO;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

int cgs_cli_load_all(const char *cmd, const char *path, json_t ***v, size_t *n)
{
	size_t len;
	char *buf = read_all(path, &len);
	if (!buf) {
		cgs_cli_error(cmd, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	size_t off = 0, line = 1, found = 0;
	int rc = 0;
	for (;;) {
		while (off < len && strchr(" \t\r\n", buf[off])) {
			line += buf[off] == '\n';
			off++;
		}
		if (off >= len)
			break;
		json_error_t e;
		json_t *j = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &e);
		if (!j) {
			cgs_cli_error(cmd, "%s: not JSON: %s (line %zu, column %d)", path, e.text,
				      line + (size_t)(e.line > 0 ? e.line - 1 : 0), e.column);
			rc = -1;
			break;
		}
		found++;
		if (!check_report(j)) {
			if (found > 1 || off + (size_t)e.position < len)
				cgs_cli_error(cmd, "%s: report %zu (line %zu): %s", path, found, line, why);
			else
				cgs_cli_error(cmd, "%s: %s", path, why);
			json_decref(j);
			rc = -1;
			break;
		}
		json_t **nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv) {
			json_decref(j);
			cgs_cli_error(cmd, "out of memory");
			rc = -1;
			break;
		}
		*v = nv;
		(*v)[(*n)++] = j;
		for (size_t k = 0; k < (size_t)e.position && off + k < len; k++)
			line += buf[off + k] == '\n';
		off += (size_t)e.position;
	}
	if (!rc && !found) {
		cgs_cli_error(cmd, "%s: empty: no report in it", path);
		rc = -1;
	}
	free(buf);
	return rc;
}

static bool same_process(const json_t *a, const json_t *b)
{
	const json_t *sa = json_object_get(a, "start_unix_ns"), *sb = json_object_get(b, "start_unix_ns");
	return json_integer_value(json_object_get(a, "pid")) == json_integer_value(json_object_get(b, "pid")) &&
	       ((!sa && !sb) || json_equal(sa, sb));
}

json_t *cgs_cli_load(const char *cmd, const char *path)
{
	json_t **v = NULL;
	size_t n = 0;
	if (cgs_cli_load_all(cmd, path, &v, &n)) {
		for (size_t i = 0; i < n; i++)
			json_decref(v[i]);
		free(v);
		return NULL;
	}
	json_t *last = v[n - 1];
	for (size_t i = 0; i + 1 < n; i++) {
		if (!same_process(v[i], last)) {
			cgs_cli_error(cmd, "%s: holds reports of several processes; merge them first"
				      " (cgoshim merge %s > merged.json)", path, path);
			last = NULL;
			break;
		}
	}
	for (size_t i = 0; i + 1 < n; i++)
		json_decref(v[i]);
	if (!last)
		json_decref(v[n - 1]);
	free(v);
	return last;
}

/* ---- Leak sites keyed by frames ----------------------------------------- */

struct site {
	char *key;
	const json_t *obj;     /* the first site with this key */
	uint64_t count, bytes;
	uint64_t oldest, newest;
	uint64_t inh_count, inh_bytes; /* of count and bytes, inherited at a fork */
	const char *cgo;
	int from;              /* merge: index of its report */
};

static void key_add(char **k, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*k = realloc(*k, *cap);
		if (!*k) {
			cgs_cli_error("diff", "out of memory");
			exit(CGS_CLI_USAGE);
		}
	}
	memcpy(*k + *len, s, n + 1);
	*len += n;
}

/* function/file/line per frame; module and offset (or address) without a
 * symbol. Fields are separated by bytes that JSON strings here never hold
 * unescaped. */
static char *site_key(const json_t *site)
{
	char *k = NULL;
	size_t len = 0, cap = 0;
	size_t i;
	const json_t *f;
	key_add(&k, &len, &cap, "");
	/* Not the leak kind: diff and merge add up the sites of one stack
	 * (the library splits a site by kind; the kinds' totals are compared). */
	json_array_foreach(json_object_get(site, "frames"), i, f) {
		char num[32];
		const char *fn = cgs_cli_str(f, "function");
		if (*fn) {
			key_add(&k, &len, &cap, "F");
			key_add(&k, &len, &cap, fn);
			key_add(&k, &len, &cap, "\x01");
			key_add(&k, &len, &cap, cgs_cli_str(f, "file"));
			snprintf(num, sizeof(num), "\x01%" PRIu64, cgs_cli_u64(f, "line"));
			key_add(&k, &len, &cap, num);
		} else {
			key_add(&k, &len, &cap, "M");
			key_add(&k, &len, &cap, cgs_cli_str(f, "module"));
			key_add(&k, &len, &cap, "\x01");
			if (json_object_get(f, "offset")) {
				snprintf(num, sizeof(num), "+%" PRIu64, cgs_cli_u64(f, "offset"));
				key_add(&k, &len, &cap, num);
			} else {
				key_add(&k, &len, &cap, cgs_cli_str(f, "addr"));
			}
		}
		key_add(&k, &len, &cap, "\x02");
	}
	return k;
}

static int site_cmp(const void *a, const void *b)
{
	const struct site *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->from - y->from;
}

/* leaks.program_<what> when the report has it, else leaks.<what>. */
static uint64_t leak_total(const json_t *leaks, const char *what)
{
	char key[32];
	snprintf(key, sizeof(key), "program_%s", what);
	return json_is_integer(json_object_get(leaks, key)) ? cgs_cli_u64(leaks, key) : cgs_cli_u64(leaks, what);
}

/* Sites of reports v[0..n), sorted by key, equal keys added together. */
static struct site *collect_sites(json_t *const *v, size_t n, size_t *out_n)
{
	size_t total = 0;
	for (size_t r = 0; r < n; r++)
		total += json_array_size(json_object_get(json_object_get(v[r], "leaks"), "sites"));
	struct site *s = calloc(total ? total : 1, sizeof(*s));
	if (!s) {
		cgs_cli_error("diff", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	size_t m = 0;
	for (size_t r = 0; r < n; r++) {
		size_t i;
		const json_t *site;
		json_array_foreach(json_object_get(json_object_get(v[r], "leaks"), "sites"), i, site) {
			if (json_is_true(json_object_get(site, "runtime")))
				continue; /* held by the loader for live threads: not a leak */
			s[m].key = site_key(site);
			s[m].obj = site;
			s[m].count = cgs_cli_u64(site, "count");
			s[m].bytes = cgs_cli_u64(site, "bytes");
			s[m].inh_count = cgs_cli_u64(site, "inherited_count");
			s[m].inh_bytes = cgs_cli_u64(site, "inherited_bytes");
			s[m].oldest = cgs_cli_u64(site, "oldest_ns");
			s[m].newest = cgs_cli_u64(site, "newest_ns");
			s[m].cgo = json_string_value(json_object_get(site, "cgo"));
			s[m].from = (int)r;
			m++;
		}
	}
	qsort(s, m, sizeof(*s), site_cmp);
	size_t k = 0;
	for (size_t i = 0; i < m; i++) {
		if (k && !strcmp(s[k - 1].key, s[i].key)) {
			struct site *d = &s[k - 1];
			d->count += s[i].count;
			d->bytes += s[i].bytes;
			d->inh_count += s[i].inh_count;
			d->inh_bytes += s[i].inh_bytes;
			if (s[i].oldest < d->oldest)
				d->oldest = s[i].oldest;
			if (s[i].newest > d->newest)
				d->newest = s[i].newest;
			if (!d->cgo)
				d->cgo = s[i].cgo;
			free(s[i].key);
		} else {
			s[k++] = s[i];
		}
	}
	*out_n = k;
	return s;
}

static void free_sites(struct site *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].key);
	free(s);
}

/* "make_names (demo.c:18) < main (demo.c:70) < ..." from up to max frames. */
static void site_label(const json_t *site, int max, char *buf, size_t cap)
{
	size_t len = 0;
	size_t i;
	const json_t *f;
	buf[0] = 0;
	json_array_foreach(json_object_get(site, "frames"), i, f) {
		char name[256], where[300];
		if ((int)i >= max) {
			snprintf(buf + len, cap - len, " < ...");
			break;
		}
		cgs_cli_frame_name(f, name, sizeof(name));
		cgs_cli_frame_where(f, where, sizeof(where));
		const char *w = strrchr(where, '/');
		w = w ? w + 1 : where;
		int k = snprintf(buf + len, cap - len, "%s%s%s%s%s", i ? " < " : "", name, *w ? " (" : "", w,
				 *w ? ")" : "");
		if (k < 0 || (size_t)k >= cap - len)
			break;
		len += (size_t)k;
	}
	if (!buf[0])
		snprintf(buf, cap, "(no frames)");
}

/* ---- Arguments ---------------------------------------------------------- */

/* "10%", "10" or "2.5%": a fraction (0.10). */
static bool parse_percent(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return false;
	if (*end == '%')
		end++;
	if (*end)
		return false;
	*out = v / 100.0;
	return true;
}

/* Bytes: 1048576, 512K, 512KiB, 1M, 1MiB, 2G, 2GiB, 100kB (1000), 1MB (1000^2). */
static bool parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *u; double m; } units[] = {
		{ "", 1 }, { "B", 1 }, { "k", 1024 }, { "K", 1024 }, { "KiB", 1024 }, { "M", 1048576 },
		{ "MiB", 1048576 }, { "G", 1073741824.0 }, { "GiB", 1073741824.0 },
		{ "T", 1099511627776.0 }, { "TiB", 1099511627776.0 }, { "kB", 1e3 }, { "KB", 1e3 },
		{ "MB", 1e6 }, { "GB", 1e9 }, { "TB", 1e12 },
	};
	char *end;
	errno = 0;
	if (*s == '-' || *s == '+')
		return false;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return false;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < CGS_ARRAY_LEN(units); i++) {
		if (!strcmp(end, units[i].u)) {
			double b = v * units[i].m;
			if (b >= 1.8e19)
				return false;
			*out = (uint64_t)(b + 0.5);
			return true;
		}
	}
	return false;
}

static bool parse_count(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* ---- diff --------------------------------------------------------------- */

enum { Q50, Q99, Q999, NQ };
static const char *const q_key[NQ] = { "p50_ns", "p99_ns", "p999_ns" };
static const char *const q_name[NQ] = { "p50", "p99", "p99.9" };
static const char *const q_json[NQ] = { "p50", "p99", "p999" };
static const char *const q_opt[NQ] = { "--max-p50-regress", "--max-p99-regress", "--max-p999-regress" };

enum verdict { SAME, SLOWER, FASTER };
static const char *const verdict_name[] = { "same", "slower", "faster" };

struct qres {
	uint64_t base, nw;
	enum verdict verdict;
	bool crossed;
};

struct fnrow {
	const char *fn;
	const json_t *b, *n; /* either may be NULL */
	struct qres q[NQ];
	bool checked;        /* thresholds applied to it */
};

enum site_status { S_NEW, S_GROWN, S_SHRUNK, S_SAME, S_GONE };
static const char *const site_status_name[] = { "new", "grown", "shrunk", "same", "gone" };

struct sitediff {
	const json_t *obj;
	uint64_t bc, bb, nc, nb;
	enum site_status status;
};

const json_t *cgs_cli_find_call(const json_t *r, const char *fn)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(r, "calls"), i, c)
		if (!strcmp(cgs_cli_str(c, "fn"), fn))
			return c;
	return NULL;
}

bool cgs_cli_fn_selected(const struct cgs_diff_args *o, const char *fn)
{
	if (!o->nfns)
		return true;
	for (size_t i = 0; i < o->nfns; i++)
		if (!strcmp(o->fns[i], fn))
			return true;
	return false;
}

/* One report per side: no significance can be judged, so a threshold
 * fails only beyond the run-to-run noise of one run as well. Measured on
 * this project's 2-vCPU VM, ten runs of examples/ioctl-loop (200,000
 * ioctls) under load: max/min of ioctl p50 1.04, p99 1.51, p99.9 206; with
 * 5 calls, malloc p50 4.3. README, "cgoshim diff". */
static const double noise_floor[3] = { 0.50, 2.00, 10.00 };

static void compare_q(struct qres *q, uint64_t base, uint64_t nw, bool check, bool has, double limit)
{
	double b_hi = (double)base * (1 + CGS_CLI_QERR), b_lo = (double)base * (1 - CGS_CLI_QERR);
	double n_hi = (double)nw * (1 + CGS_CLI_QERR), n_lo = (double)nw * (1 - CGS_CLI_QERR);
	q->base = base;
	q->nw = nw;
	q->verdict = n_lo > b_hi ? SLOWER : n_hi < b_lo ? FASTER : SAME;
	q->crossed = check && has && n_lo > b_hi * (1 + limit);
}

static const char *prog_name(const json_t *r)
{
	const char *e = cgs_cli_str(r, "exe"), *s = strrchr(e, '/');
	return s ? s + 1 : e;
}

static int sitediff_cmp(const void *a, const void *b)
{
	const struct sitediff *x = a, *y = b;
	double gx = (double)x->nb - (double)x->bb, gy = (double)y->nb - (double)y->bb;
	if (x->status != y->status && (x->status == S_NEW || y->status == S_NEW))
		return x->status == S_NEW ? -1 : 1;
	if (gx != gy)
		return gx > gy ? -1 : 1;
	return (int)x->status - (int)y->status;
}

/* Whether a report's leaks carry kinds from a scan. */
bool cgs_cli_kinds_known(const json_t *leaks)
{
	const char *src = cgs_cli_str(leaks, "kinds_source");
	return json_is_object(json_object_get(leaks, "kinds")) && (!strcmp(src, "scan") || !strcmp(src, "last_scan"));
}

/* Definitely + indirectly + possibly lost: "count" or "bytes". */
uint64_t cgs_cli_lost(const json_t *leaks, const char *what)
{
	static const char *const kinds[] = { "definitely_lost", "indirectly_lost", "possibly_lost" };
	const json_t *k = json_object_get(leaks, "kinds");
	uint64_t sum = 0;
	for (size_t i = 0; i < 3; i++)
		sum += cgs_cli_u64(json_object_get(k, kinds[i]), what);
	return sum;
}

static const char diff_usage[] =
	"Usage: cgoshim diff [OPTION]... BASE.json NEW.json\n"
	"       cgoshim diff [OPTION]... BASE1.json BASE2.json... -- NEW1.json NEW2.json...\n"
	"       cgoshim diff [OPTION]... BASEDIR NEWDIR      (the *.json reports in each)\n"
	"Compare JSON reports: per function the change in count and in p50, p99\n"
	"and p99.9, and the leak sites that are new or grew. A quantile is within\n"
	"1/64 (1.6%) of the true value, so a change counts only when NEW's range lies\n"
	"wholly beyond BASE's. With several runs per side, each function's per-run\n"
	"quantiles are compared with the Mann-Whitney U test (Holm-corrected over\n"
	"the comparisons a threshold applies to) and a threshold fails only on a\n"
	"significant change. With one report per side no significance can be judged:\n"
	"a threshold then also needs the change to pass the noise floor of one run\n"
	"(p50 +50%, p99 +200%, p99.9 +1000%; --noise-floor sets another).\n"
	"  --max-p50-regress=P    fail when a p50 is more than P% slower (10%)\n"
	"  --max-p99-regress=P    the same for p99\n"
	"  --max-p999-regress=P   the same for p99.9\n"
	"  --max-leak-growth=SIZE fail when the leaked bytes grew by more than SIZE\n"
	"                         (1048576, 512K, 1MiB, 2G...); it counts the lost\n"
	"                         kinds (definitely, indirectly, possibly lost) when\n"
	"                         both reports have them, else every live block\n"
	"  --leak-growth-kinds=all  count every live block, still reachable too\n"
	"  --fn=NAME              apply the latency thresholds to NAME only (repeat)\n"
	"  --min-count=N          ... and only where both reports have N calls or more\n"
	"  --top=N                leak sites listed (default 20; 0: all)\n"
	"  --json                 print the result as JSON\n"
	"  --alpha=A              several runs: significance level (default 0.05)\n"
	"  --noise-floor=P        one run per side: the change a threshold also needs\n"
	"                         (default per quantile, see above; 0 for none)\n"
	"  --force                compare reports of different programs\n"
	"Exit status: 0 within the thresholds; 1 a threshold is crossed; 2 usage or\n"
	"input error (reports of different programs, unless --force).\n";

static void print_change(char *buf, size_t cap, double base, double nw)
{
	if (base > 0)
		snprintf(buf, cap, "%+.1f%%", (nw - base) / base * 100);
	else
		snprintf(buf, cap, "%s", nw > 0 ? "new" : "+0.0%");
}

static json_t *change_json(double base, double nw)
{
	return base > 0 ? json_real((nw - base) / base) : json_null();
}

static json_t *side_json(const char *path, const json_t *r)
{
	return json_pack("{s:s, s:O, s:s, s:O}", "file", path, "pid", json_object_get(r, "pid"), "exe",
			 cgs_cli_str(r, "exe"), "final",
			 json_object_get(r, "final") ? json_object_get(r, "final") : json_false());
}

static json_t *frames_copy(const json_t *site)
{
	return json_deep_copy(json_object_get(site, "frames"));
}

int cgs_cli_diff(int argc, char **argv)
{
	enum { O_P50 = 256, O_P99, O_P999, O_LEAK, O_LEAK_KINDS, O_JSON, O_FN, O_MIN, O_TOP, O_HELP, O_ALPHA, O_FORCE, O_FLOOR };
	static const struct option opts[] = {
		{ "max-p50-regress", required_argument, NULL, O_P50 },
		{ "max-p99-regress", required_argument, NULL, O_P99 },
		{ "max-p999-regress", required_argument, NULL, O_P999 },
		{ "max-leak-growth", required_argument, NULL, O_LEAK },
		{ "leak-growth-kinds", required_argument, NULL, O_LEAK_KINDS },
		{ "fn", required_argument, NULL, O_FN },
		{ "min-count", required_argument, NULL, O_MIN },
		{ "top", required_argument, NULL, O_TOP },
		{ "json", no_argument, NULL, O_JSON },
		{ "alpha", required_argument, NULL, O_ALPHA },
		{ "force", no_argument, NULL, O_FORCE },
		{ "noise-floor", required_argument, NULL, O_FLOOR },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct cgs_diff_args o = { .top = 20, .alpha = 0.05 };
	const char *fns[64];
	o.fns = fns;
	int c;
	/* "--" splits the runs: BASE... -- NEW...; options come before it. */
	int split = -1;
	for (int k = 1; k < argc; k++)
		if (!strcmp(argv[k], "--")) {
			split = k;
			break;
		}
	int oargc = split >= 0 ? split : argc;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(oargc, argv, ":h", opts, NULL)) != -1) {
		uint64_t u;
		switch (c) {
		case O_P50:
		case O_P99:
		case O_P999:
			if (!parse_percent(optarg, &o.max_q[c - O_P50])) {
				cgs_cli_error("diff", "%s %s: expected a percentage such as 10%%",
					      q_opt[c - O_P50], optarg);
				return CGS_CLI_USAGE;
			}
			o.has_q[c - O_P50] = true;
			break;
		case O_LEAK:
			if (!parse_size(optarg, &o.max_leak)) {
				cgs_cli_error("diff", "--max-leak-growth %s: expected a size such as 1MiB", optarg);
				return CGS_CLI_USAGE;
			}
			o.has_leak = true;
			break;
		case O_LEAK_KINDS:
			if (strcmp(optarg, "all") && strcmp(optarg, "lost")) {
				cgs_cli_error("diff", "--leak-growth-kinds %s: expected lost or all", optarg);
				return CGS_CLI_USAGE;
			}
			o.leak_all = !strcmp(optarg, "all");
			break;
		case O_FN:
			if (o.nfns == CGS_ARRAY_LEN(fns)) {
				cgs_cli_error("diff", "--fn: at most %zu functions", CGS_ARRAY_LEN(fns));
				return CGS_CLI_USAGE;
			}
			o.fns[o.nfns++] = optarg;
			break;
		case O_MIN:
			if (!parse_count(optarg, &o.min_count)) {
				cgs_cli_error("diff", "--min-count %s: expected a number", optarg);
				return CGS_CLI_USAGE;
			}
			break;
		case O_TOP:
			if (!parse_count(optarg, &u) || u > 1000000) {
				cgs_cli_error("diff", "--top %s: expected a number", optarg);
				return CGS_CLI_USAGE;
			}
			o.top = (int)u;
			break;
		case O_JSON:
			o.json = true;
			break;
		case O_ALPHA: {
			char *end;
			errno = 0;
			o.alpha = strtod(optarg, &end);
			if (end == optarg || *end || errno || !(o.alpha > 0 && o.alpha < 1)) {
				cgs_cli_error("diff", "--alpha %s: expected a level between 0 and 1, such as 0.05", optarg);
				return CGS_CLI_USAGE;
			}
			break;
		}
		case O_FORCE:
			o.force = true;
			break;
		case O_FLOOR:
			if (!parse_percent(optarg, &o.floor)) {
				cgs_cli_error("diff", "--noise-floor %s: expected a percentage such as 50%%", optarg);
				return CGS_CLI_USAGE;
			}
			o.has_floor = true;
			break;
		case 'h':
		case O_HELP:
			fputs(diff_usage, stdout);
			return fflush(stdout) ? CGS_CLI_USAGE : 0;
		case ':':
			cgs_cli_error("diff", "option %s needs a value (try 'cgoshim diff --help')", argv[optind - 1]);
			return CGS_CLI_USAGE;
		default:
			cgs_cli_error("diff", "unknown option %s (try 'cgoshim diff --help')", argv[optind - 1]);
			return CGS_CLI_USAGE;
		}
	}
	if (split >= 0) {
		int na = oargc - optind, nn = argc - split - 1;
		if (na < 1 || nn < 1) {
			cgs_cli_error("diff", "expected reports on both sides of --, got %d before and %d after"
				      " (try 'cgoshim diff --help')", na, nn);
			return CGS_CLI_USAGE;
		}
		struct stat st0, st1;
		bool single = na == 1 && nn == 1 && !stat(argv[optind], &st0) && !S_ISDIR(st0.st_mode) &&
			      !stat(argv[split + 1], &st1) && !S_ISDIR(st1.st_mode);
		if (!single)
			return cgs_cli_diff_runs(&o, argv + optind, (size_t)na, argv + split + 1, (size_t)nn);
		argv[optind + 1] = argv[split + 1];
	} else if (argc - optind != 2) {
		cgs_cli_error("diff", "expected two reports, BASE.json and NEW.json, got %d"
			      " (try 'cgoshim diff --help')", argc - optind);
		return CGS_CLI_USAGE;
	} else {
		struct stat st0, st1;
		if ((!stat(argv[optind], &st0) && S_ISDIR(st0.st_mode)) ||
		    (!stat(argv[optind + 1], &st1) && S_ISDIR(st1.st_mode)))
			return cgs_cli_diff_runs(&o, argv + optind, 1, argv + optind + 1, 1);
	}
	const char *bpath = argv[optind], *npath = argv[optind + 1];
	json_t *base = cgs_cli_load("diff", bpath);
	if (!base)
		return CGS_CLI_USAGE;
	json_t *nw = cgs_cli_load("diff", npath);
	if (!nw) {
		json_decref(base);
		return CGS_CLI_USAGE;
	}
	if (strcmp(prog_name(base), prog_name(nw))) {
		if (!o.force) {
			cgs_cli_error("diff", "%s is a report of %s, %s one of %s: different programs"
				      " (--force compares them anyway)", npath, prog_name(nw), bpath, prog_name(base));
			json_decref(base);
			json_decref(nw);
			return CGS_CLI_USAGE;
		}
		fprintf(stderr, "cgoshim diff: warning: %s is a report of %s, %s one of %s\n", npath,
			prog_name(nw), bpath, prog_name(base));
	}
	const json_t *bl = json_object_get(base, "leaks"), *nl = json_object_get(nw, "leaks");
	if (o.has_leak) {
		const char *off = json_is_false(json_object_get(bl, "enabled")) ? bpath
				  : json_is_false(json_object_get(nl, "enabled")) ? npath : NULL;
		if (off) {
			cgs_cli_error("diff", "%s: made with leak tracking off (CGOSHIM_LEAKS=0):"
				      " cannot check --max-leak-growth", off);
			json_decref(base);
			json_decref(nw);
			return CGS_CLI_USAGE;
		}
	}

	/* Functions: BASE's order, then those only NEW has. */
	size_t nb = json_array_size(json_object_get(base, "calls"));
	size_t nn = json_array_size(json_object_get(nw, "calls"));
	struct fnrow *rows = calloc(nb + nn + 1, sizeof(*rows));
	if (!rows) {
		cgs_cli_error("diff", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	size_t nrows = 0;
	size_t i;
	const json_t *call;
	json_array_foreach(json_object_get(base, "calls"), i, call) {
		const char *fn = cgs_cli_str(call, "fn");
		bool dup = false;
		for (size_t k = 0; k < nrows && !dup; k++)
			dup = !strcmp(rows[k].fn, fn);
		if (dup)
			continue;
		rows[nrows].fn = fn;
		rows[nrows].b = call;
		rows[nrows].n = cgs_cli_find_call(nw, fn);
		nrows++;
	}
	json_array_foreach(json_object_get(nw, "calls"), i, call) {
		const char *fn = cgs_cli_str(call, "fn");
		if (cgs_cli_find_call(base, fn))
			continue;
		bool dup = false;
		for (size_t k = 0; k < nrows && !dup; k++)
			dup = !strcmp(rows[k].fn, fn);
		if (dup)
			continue;
		rows[nrows].fn = fn;
		rows[nrows].n = call;
		nrows++;
	}
	int crossed = 0;
	for (size_t r = 0; r < nrows; r++) {
		struct fnrow *w = &rows[r];
		if (!w->b || !w->n)
			continue;
		w->checked = cgs_cli_fn_selected(&o, w->fn) && cgs_cli_u64(w->b, "count") >= o.min_count &&
			     cgs_cli_u64(w->n, "count") >= o.min_count;
		for (int q = 0; q < NQ; q++) {
			double fl = o.has_floor ? o.floor : noise_floor[q];
			compare_q(&w->q[q], cgs_cli_u64(w->b, q_key[q]), cgs_cli_u64(w->n, q_key[q]), w->checked,
				  o.has_q[q], o.max_q[q] > fl ? o.max_q[q] : fl);
			crossed += w->q[q].crossed;
		}
	}

	/* Leaks. */
	json_t *pair[2] = { base, nw };
	size_t nsb, nsn;
	struct site *sb = collect_sites(pair, 1, &nsb);
	struct site *sn = collect_sites(pair + 1, 1, &nsn);
	struct sitediff *sd = calloc(nsb + nsn + 1, sizeof(*sd));
	if (!sd) {
		cgs_cli_error("diff", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	size_t nsd = 0;
	for (size_t x = 0, y = 0; x < nsb || y < nsn;) {
		int cmp = x >= nsb ? 1 : y >= nsn ? -1 : strcmp(sb[x].key, sn[y].key);
		struct sitediff *d = &sd[nsd++];
		if (cmp < 0) {
			*d = (struct sitediff){ sb[x].obj, sb[x].count, sb[x].bytes, 0, 0, S_GONE };
			x++;
		} else if (cmp > 0) {
			*d = (struct sitediff){ sn[y].obj, 0, 0, sn[y].count, sn[y].bytes, S_NEW };
			y++;
		} else {
			*d = (struct sitediff){ sn[y].obj, sb[x].count, sb[x].bytes, sn[y].count, sn[y].bytes,
						S_SAME };
			d->status = d->nb > d->bb ? S_GROWN : d->nb < d->bb ? S_SHRUNK
				    : d->nc != d->bc ? (d->nc > d->bc ? S_GROWN : S_SHRUNK) : S_SAME;
			x++;
			y++;
		}
	}
	qsort(sd, nsd, sizeof(*sd), sitediff_cmp);
	/* What --max-leak-growth counts: the lost kinds (definitely, indirectly
	 * and possibly lost) when both reports know them, else the program's
	 * live blocks (without what the loader holds for live threads). */
	bool by_kind = !o.leak_all && cgs_cli_kinds_known(bl) && cgs_cli_kinds_known(nl);
	uint64_t lb_bytes = by_kind ? cgs_cli_lost(bl, "bytes") : leak_total(bl, "bytes");
	uint64_t ln_bytes = by_kind ? cgs_cli_lost(nl, "bytes") : leak_total(nl, "bytes");
	uint64_t lb_count = by_kind ? cgs_cli_lost(bl, "count") : leak_total(bl, "count");
	uint64_t ln_count = by_kind ? cgs_cli_lost(nl, "count") : leak_total(nl, "count");
	double growth = (double)ln_bytes - (double)lb_bytes;
	bool leak_crossed = o.has_leak && growth > (double)o.max_leak;
	crossed += leak_crossed;
	size_t counts[5] = { 0 };
	for (size_t k = 0; k < nsd; k++)
		counts[sd[k].status]++;

	if (o.json) {
		json_t *out = json_object();
		json_object_set_new(out, "schema", json_string("cgoshim-diff/1"));
		json_object_set_new(out, "base", side_json(bpath, base));
		json_object_set_new(out, "new", side_json(npath, nw));
		json_object_set_new(out, "error_bound", json_real(CGS_CLI_QERR));
		json_t *th = json_object();
		for (int q = 0; q < NQ; q++)
			json_object_set_new(th, q_json[q], o.has_q[q] ? json_real(o.max_q[q]) : json_null());
		json_object_set_new(th, "leak_growth_bytes",
				    o.has_leak ? json_integer((json_int_t)o.max_leak) : json_null());
		json_object_set_new(th, "min_count", json_integer((json_int_t)o.min_count));
		json_t *fa = json_array();
		for (size_t k = 0; k < o.nfns; k++)
			json_array_append_new(fa, json_string(o.fns[k]));
		json_object_set_new(th, "functions", fa);
		json_object_set_new(out, "thresholds", th);
		json_object_set_new(out, "leaks_compared", json_string(by_kind ? "lost_kinds" : "all_live"));
		json_t *fns_j = json_array();
		json_t *cr = json_array();
		for (size_t r = 0; r < nrows; r++) {
			struct fnrow *w = &rows[r];
			json_t *f = json_object();
			json_object_set_new(f, "fn", json_string(w->fn));
			json_object_set_new(f, "status", json_string(!w->b ? "new" : !w->n ? "gone" : "both"));
			json_object_set_new(f, "checked", json_boolean(w->checked));
			uint64_t cb = cgs_cli_u64(w->b, "count"), cn = cgs_cli_u64(w->n, "count");
			json_object_set_new(f, "count", json_pack("{s:o, s:o, s:o}",
				"base", w->b ? json_integer((json_int_t)cb) : json_null(),
				"new", w->n ? json_integer((json_int_t)cn) : json_null(),
				"change", w->b && w->n ? change_json((double)cb, (double)cn) : json_null()));
			for (int q = 0; q < NQ; q++) {
				json_t *qj;
				if (w->b && w->n)
					qj = json_pack("{s:I, s:I, s:o, s:s, s:b}", "base", (json_int_t)w->q[q].base,
						       "new", (json_int_t)w->q[q].nw, "change",
						       change_json((double)w->q[q].base, (double)w->q[q].nw),
						       "verdict", verdict_name[w->q[q].verdict], "crossed",
						       w->q[q].crossed);
				else
					qj = json_pack("{s:o, s:o}", "base",
						       w->b ? json_integer((json_int_t)cgs_cli_u64(w->b, q_key[q]))
							    : json_null(),
						       "new", w->n ? json_integer((json_int_t)cgs_cli_u64(w->n, q_key[q]))
							    : json_null());
				json_object_set_new(f, q_json[q], qj);
				if (w->q[q].crossed)
					json_array_append_new(cr, json_pack("{s:s, s:s, s:I, s:I, s:f}", "what",
						q_json[q], "fn", w->fn, "base", (json_int_t)w->q[q].base, "new",
						(json_int_t)w->q[q].nw, "limit", o.max_q[q]));
			}
			json_array_append_new(fns_j, f);
		}
		json_object_set_new(out, "functions", fns_j);
		json_t *sites = json_array();
		for (size_t k = 0; k < nsd; k++) {
			struct sitediff *d = &sd[k];
			json_array_append_new(sites, json_pack("{s:s, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:o}",
				"status", site_status_name[d->status],
				"base", "count", (json_int_t)d->bc, "bytes", (json_int_t)d->bb,
				"new", "count", (json_int_t)d->nc, "bytes", (json_int_t)d->nb,
				"growth_bytes", (json_int_t)((int64_t)d->nb - (int64_t)d->bb),
				"growth_count", (json_int_t)((int64_t)d->nc - (int64_t)d->bc),
				"frames", frames_copy(d->obj)));
		}
		json_object_set_new(out, "leaks", json_pack("{s:{s:O, s:I, s:I}, s:{s:O, s:I, s:I}, s:I, s:I, s:b, s:o}",
			"base", "enabled", json_object_get(bl, "enabled") ? json_object_get(bl, "enabled") : json_true(),
			"count", (json_int_t)lb_count, "bytes", (json_int_t)lb_bytes,
			"new", "enabled", json_object_get(nl, "enabled") ? json_object_get(nl, "enabled") : json_true(),
			"count", (json_int_t)ln_count, "bytes", (json_int_t)ln_bytes,
			"growth_bytes", (json_int_t)growth, "growth_count", (json_int_t)((int64_t)ln_count - (int64_t)lb_count),
			"crossed", leak_crossed, "sites", sites));
		if (leak_crossed)
			json_array_append_new(cr, json_pack("{s:s, s:I, s:I}", "what", "leak_growth", "growth",
							    (json_int_t)growth, "limit", (json_int_t)o.max_leak));
		json_object_set_new(out, "crossed", cr);
		json_object_set_new(out, "ok", json_boolean(!crossed));
		json_dumpf(out, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
		fputc('\n', stdout);
		json_decref(out);
	} else {
		char t1[64], t2[64], t3[64];
		printf("base: %s  pid %" JSON_INTEGER_FORMAT "  %s%s\n", bpath,
		       json_integer_value(json_object_get(base, "pid")), cgs_cli_str(base, "exe"),
		       json_is_true(json_object_get(base, "final")) ? "  (final)" : "  (live)");
		printf("new:  %s  pid %" JSON_INTEGER_FORMAT "  %s%s\n", npath,
		       json_integer_value(json_object_get(nw, "pid")), cgs_cli_str(nw, "exe"),
		       json_is_true(json_object_get(nw, "final")) ? "  (final)" : "  (live)");
		printf("A quantile is within 1.6%% of the true value: a verdict other than \"same\"\n"
		       "means the two ranges do not overlap. One report per side: no significance can\n"
		       "be judged, so a threshold fails only past the noise floor of one run too\n"
		       "(%s). Give several runs per side for a significance test.\n\n",
		       o.has_floor ? "--noise-floor" : "p50 +50%, p99 +200%, p99.9 +1000%");
		int w = 8;
		for (size_t r = 0; r < nrows; r++)
			if ((int)strlen(rows[r].fn) > w)
				w = (int)strlen(rows[r].fn);
		if (w > 40)
			w = 40;
		printf("%-*s  %-6s %12s %12s %9s  %s\n", w, "function", "metric", "base", "new", "change", "verdict");
		for (size_t r = 0; r < nrows; r++) {
			struct fnrow *f = &rows[r];
			uint64_t cb = cgs_cli_u64(f->b, "count"), cn = cgs_cli_u64(f->n, "count");
			if (!f->b || !f->n) {
				snprintf(t1, sizeof(t1), "%" PRIu64, cb);
				snprintf(t2, sizeof(t2), "%" PRIu64, cn);
				printf("%-*.*s  %-6s %12s %12s %9s  %s\n", w, w, f->fn, "count", f->b ? t1 : "-",
				       f->n ? t2 : "-", "", f->b ? "gone" : "new");
				continue;
			}
			char ch[32];
			print_change(ch, sizeof(ch), (double)cb, (double)cn);
			printf("%-*.*s  %-6s %12" PRIu64 " %12" PRIu64 " %9s\n", w, w, f->fn, "count", cb, cn, ch);
			for (int q = 0; q < NQ; q++) {
				struct qres *x = &f->q[q];
				char mark[96] = "";
				if (x->crossed)
					snprintf(mark, sizeof(mark), "  FAIL (more than %g%% slower)",
						 (o.max_q[q] > (o.has_floor ? o.floor : noise_floor[q]) ? o.max_q[q]
						  : (o.has_floor ? o.floor : noise_floor[q])) * 100);
				print_change(ch, sizeof(ch), (double)x->base, (double)x->nw);
				printf("%-*s  %-6s %12s %12s %9s  %s%s\n", w, "", q_name[q],
				       cgs_cli_ns(x->base, t1, sizeof(t1)), cgs_cli_ns(x->nw, t2, sizeof(t2)), ch,
				       verdict_name[x->verdict], mark);
			}
		}
		printf("\nleaks compared: %s\n", by_kind ? "the lost kinds (definitely, indirectly and possibly lost)"
			: o.leak_all ? "every live block (--leak-growth-kinds=all)"
			: "every live block (leak kinds unknown in a report)");
		printf("leaked bytes   %s -> %s (%s%s)%s\n", cgs_cli_bytes((double)lb_bytes, t1, sizeof(t1)),
		       cgs_cli_bytes((double)ln_bytes, t2, sizeof(t2)), growth >= 0 ? "+" : "",
		       cgs_cli_bytes(growth, t3, sizeof(t3)), leak_crossed ? "  FAIL (above --max-leak-growth)" : "");
		printf("leaked blocks  %" PRIu64 " -> %" PRIu64 " (%+" PRId64 ")\n", lb_count, ln_count,
		       (int64_t)ln_count - (int64_t)lb_count);
		printf("leak sites: %zu new, %zu grown, %zu shrunk, %zu gone, %zu unchanged\n", counts[S_NEW],
		       counts[S_GROWN], counts[S_SHRUNK], counts[S_GONE], counts[S_SAME]);
		size_t shown = 0, listed = nsd - counts[S_SAME];
		for (size_t k = 0; k < nsd; k++) {
			struct sitediff *d = &sd[k];
			if (d->status == S_SAME)
				continue;
			if (o.top && shown == (size_t)o.top) {
				printf("  ... and %zu more (--top)\n", listed - shown);
				break;
			}
			char label[1024];
			site_label(d->obj, 3, label, sizeof(label));
			double g = (double)d->nb - (double)d->bb;
			snprintf(t3, sizeof(t3), "%s%s", g >= 0 ? "+" : "", cgs_cli_bytes(g, t1, sizeof(t1)));
			printf("  %-6s %12s %8" PRId64 " blocks  %s\n", site_status_name[d->status], t3,
			       (int64_t)d->nc - (int64_t)d->bc, label);
			shown++;
		}
		printf("\n");
		if (crossed) {
			printf("FAIL: %d threshold%s crossed:", crossed, crossed > 1 ? "s" : "");
			const char *sep = " ";
			for (size_t r = 0; r < nrows; r++)
				for (int q = 0; q < NQ; q++)
					if (rows[r].q[q].crossed) {
						print_change(t3, sizeof(t3), (double)rows[r].q[q].base,
							     (double)rows[r].q[q].nw);
						printf("%s%s %s %s > %g%%", sep, rows[r].fn, q_name[q], t3,
						       o.max_q[q] * 100);
						sep = ", ";
					}
			if (leak_crossed)
				printf("%sleaks +%s > %s", sep, cgs_cli_bytes(growth, t1, sizeof(t1)),
				       cgs_cli_bytes((double)o.max_leak, t2, sizeof(t2)));
			printf("\n");
		} else if (o.has_q[Q50] || o.has_q[Q99] || o.has_q[Q999] || o.has_leak) {
			printf("OK: within thresholds\n");
		} else {
			printf("OK: no thresholds given\n");
		}
	}
	int rc = fflush(stdout) ? CGS_CLI_USAGE : crossed ? 1 : 0;
	free(sd);
	free_sites(sb, nsb);
	free_sites(sn, nsn);
	free(rows);
	json_decref(base);
	json_decref(nw);
	return rc;
}

/* ---- merge -------------------------------------------------------------- */

struct bucket {
	uint64_t le, count;
	double rate;
};

static int bucket_cmp(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;
	return x->le < y->le ? -1 : x->le > y->le;
}

/* The quantile the library would print for these buckets. */
static uint64_t merged_quantile(const struct bucket *b, size_t n, uint64_t total, double q, uint64_t min,
				uint64_t max)
{
	if (!total)
		return 0;
	uint64_t k = (uint64_t)ceil(q * (double)total);
	if (k < 1)
		k = 1;
	if (k > total)
		k = total;
	uint64_t seen = 0;
	for (size_t i = 0; i < n; i++) {
		seen += b[i].count;
		if (seen >= k) {
			double mid = bucket_mid(b[i].le, b[i].rate);
			uint64_t v = mid <= 0 ? 0 : (uint64_t)mid;
			return v < min ? min : v > max ? max : v;
		}
	}
	return max;
}

/* One stat object (a "calls" or "targets" entry) from several. */
static json_t *merge_stat(json_t *const *st, const double *rate, size_t n)
{
	json_t *out = json_deep_copy(st[0]);
	uint64_t count = 0, errors = 0, total = 0, min = UINT64_MAX, max = 0;
	size_t nb = 0;
	for (size_t i = 0; i < n; i++)
		nb += json_array_size(json_object_get(st[i], "buckets"));
	struct bucket *b = calloc(nb + 1, sizeof(*b));
	if (!out || !b) {
		cgs_cli_error("merge", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t c = cgs_cli_u64(st[i], "count");
		count += c;
		errors += cgs_cli_u64(st[i], "errors");
		total += cgs_cli_u64(st[i], "total_ns");
		if (c && cgs_cli_u64(st[i], "min_ns") < min)
			min = cgs_cli_u64(st[i], "min_ns");
		if (c && cgs_cli_u64(st[i], "max_ns") > max)
			max = cgs_cli_u64(st[i], "max_ns");
		size_t k;
		const json_t *bj;
		json_array_foreach(json_object_get(st[i], "buckets"), k, bj) {
			b[m].le = cgs_cli_u64(bj, "le_ns");
			b[m].count = cgs_cli_u64(bj, "count");
			b[m].rate = rate[i];
			if (b[m].count)
				m++;
		}
	}
	qsort(b, m, sizeof(*b), bucket_cmp);
	size_t k = 0;
	uint64_t btotal = 0;
	for (size_t i = 0; i < m; i++) {
		btotal += b[i].count;
		if (k && b[k - 1].le == b[i].le)
			b[k - 1].count += b[i].count;
		else
			b[k++] = b[i];
	}
	if (!count)
		min = 0;
	json_object_set_new(out, "count", json_integer((json_int_t)count));
	json_object_set_new(out, "errors", json_integer((json_int_t)errors));
	json_object_set_new(out, "total_ns", json_integer((json_int_t)total));
	json_object_set_new(out, "min_ns", json_integer((json_int_t)min));
	json_object_set_new(out, "max_ns", json_integer((json_int_t)max));
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	static const char *const qk[] = { "p50_ns", "p90_ns", "p99_ns", "p999_ns" };
	for (size_t q = 0; q < 4; q++)
		json_object_set_new(out, qk[q],
				    json_integer((json_int_t)merged_quantile(b, k, btotal, qs[q], min, max)));
	json_t *bs = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(bs, json_pack("{s:I, s:I}", "le_ns", (json_int_t)b[i].le, "count",
						    (json_int_t)b[i].count));
	json_object_set_new(out, "buckets", bs);
	free(b);
	return out;
}

/* Merge the array member `key` ("calls" or "targets") of every report:
 * entries with equal names are merged, in order of first appearance. */
static json_t *merge_stats(json_t *const *v, size_t n, const char *key)
{
	const bool target = !strcmp(key, "targets");
	size_t total = 0;
	for (size_t r = 0; r < n; r++)
		total += json_array_size(json_object_get(v[r], key));
	json_t *out = json_array();
	json_t **all = calloc(total + 1, sizeof(*all));
	json_t **group = calloc(total + 1, sizeof(*group));
	double *rate = calloc(total + 1, sizeof(*rate));
	double *grate = calloc(total + 1, sizeof(*grate));
	bool *done = calloc(total + 1, sizeof(*done));
	if (!out || !all || !group || !rate || !grate || !done) {
		cgs_cli_error("merge", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	size_t m = 0;
	for (size_t r = 0; r < n; r++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(v[r], key), i, e) {
			all[m] = e;
			rate[m++] = report_rate(v[r]);
		}
	}
	for (size_t i = 0; i < m; i++) {
		if (done[i])
			continue;
		size_t g = 0;
		for (size_t j = i; j < m; j++) {
			bool same = target ? !strcmp(cgs_cli_str(all[i], "kind"), cgs_cli_str(all[j], "kind")) &&
					     !strcmp(cgs_cli_str(all[i], "target"), cgs_cli_str(all[j], "target"))
					   : !strcmp(cgs_cli_str(all[i], "fn"), cgs_cli_str(all[j], "fn"));
			if (!same || done[j])
				continue;
			done[j] = true;
			group[g] = all[j];
			grate[g++] = rate[j];
		}
		json_array_append_new(out, merge_stat(group, grate, g));
	}
	free(all);
	free(group);
	free(rate);
	free(grate);
	free(done);
	return out;
}

static json_t *merge_leaks(json_t *const *v, size_t n)
{
	json_t *out = json_deep_copy(json_object_get(v[0], "leaks"));
	bool enabled = false;
	uint64_t count = 0, bytes = 0, inh_count = 0, inh_bytes = 0;
	for (size_t r = 0; r < n; r++) {
		const json_t *l = json_object_get(v[r], "leaks");
		enabled |= !json_is_false(json_object_get(l, "enabled"));
		count += cgs_cli_u64(l, "count");
		bytes += cgs_cli_u64(l, "bytes");
		inh_count += cgs_cli_u64(l, "inherited_count");
		inh_bytes += cgs_cli_u64(l, "inherited_bytes");
	}
	size_t ns;
	struct site *s = collect_sites(v, n, &ns);
	/* Largest first, as the library lists them. */
	for (size_t i = 1; i < ns; i++) {
		struct site t = s[i];
		size_t j = i;
		for (; j > 0 && s[j - 1].bytes < t.bytes; j--)
			s[j] = s[j - 1];
		s[j] = t;
	}
	json_t *sites = json_array();
	uint64_t shown_count = 0, shown_bytes = 0;
	for (size_t i = 0; i < ns; i++) {
		json_t *site = json_deep_copy(s[i].obj);
		json_object_set_new(site, "count", json_integer((json_int_t)s[i].count));
		json_object_set_new(site, "bytes", json_integer((json_int_t)s[i].bytes));
		if (json_object_get(site, "inherited_count"))
			json_object_set_new(site, "inherited_count", json_integer((json_int_t)s[i].inh_count));
		if (json_object_get(site, "inherited_bytes"))
			json_object_set_new(site, "inherited_bytes", json_integer((json_int_t)s[i].inh_bytes));
		if (json_object_get(site, "oldest_ns"))
			json_object_set_new(site, "oldest_ns", json_integer((json_int_t)s[i].oldest));
		if (json_object_get(site, "newest_ns"))
			json_object_set_new(site, "newest_ns", json_integer((json_int_t)s[i].newest));
		if (json_object_get(site, "cgo"))
			json_object_set_new(site, "cgo", s[i].cgo ? json_string(s[i].cgo) : json_null());
		shown_count += s[i].count;
		shown_bytes += s[i].bytes;
		json_array_append_new(sites, site);
	}
	free_sites(s, ns);
	if (json_object_get(out, "enabled"))
		json_object_set_new(out, "enabled", json_boolean(enabled));
	json_object_set_new(out, "count", json_integer((json_int_t)count));
	json_object_set_new(out, "bytes", json_integer((json_int_t)bytes));
	if (json_object_get(out, "inherited_count"))
		json_object_set_new(out, "inherited_count", json_integer((json_int_t)inh_count));
	if (json_object_get(out, "inherited_bytes"))
		json_object_set_new(out, "inherited_bytes", json_integer((json_int_t)inh_bytes));
	if (json_object_get(out, "shown_count"))
		json_object_set_new(out, "shown_count", json_integer((json_int_t)shown_count));
	if (json_object_get(out, "shown_bytes"))
		json_object_set_new(out, "shown_bytes", json_integer((json_int_t)shown_bytes));
	json_object_set_new(out, "sites", sites);
	/* Kinds: added up; their source is the reports' when they agree. */
	json_t *kinds = json_object_get(out, "kinds");
	if (json_is_object(kinds)) {
		const char *src = cgs_cli_str(json_object_get(v[0], "leaks"), "kinds_source");
		const char *key;
		json_t *val;
		json_object_foreach(kinds, key, val) {
			uint64_t c = 0, b = 0;
			for (size_t r = 0; r < n; r++) {
				const json_t *k = json_object_get(json_object_get(json_object_get(v[r], "leaks"), "kinds"), key);
				c += cgs_cli_u64(k, "count");
				b += cgs_cli_u64(k, "bytes");
			}
			json_object_set_new(val, "count", json_integer((json_int_t)c));
			json_object_set_new(val, "bytes", json_integer((json_int_t)b));
		}
		for (size_t r = 1; r < n; r++)
			if (strcmp(src, cgs_cli_str(json_object_get(v[r], "leaks"), "kinds_source")))
				src = "mixed";
		json_object_set_new(out, "kinds_source", json_string(src));
	}
	return out;
}

static int64_t start_ns(const json_t *r)
{
	return (int64_t)json_integer_value(json_object_get(r, "start_unix_ns"));
}

static int event_cmp(const void *a, const void *b)
{
	uint64_t x = cgs_cli_u64(*(json_t *const *)a, "t_ns"), y = cgs_cli_u64(*(json_t *const *)b, "t_ns");
	return x < y ? -1 : x > y;
}

/* "events" or "rings": every report's entries, tagged with the pid; events
 * on the timeline of the earliest process. */
static json_t *merge_tagged(json_t *const *v, size_t n, const char *key, int64_t t0)
{
	size_t total = 0;
	for (size_t r = 0; r < n; r++)
		total += json_array_size(json_object_get(v[r], key));
	json_t **all = calloc(total + 1, sizeof(*all));
	if (!all) {
		cgs_cli_error("merge", "out of memory");
		exit(CGS_CLI_USAGE);
	}
	size_t m = 0;
	for (size_t r = 0; r < n; r++) {
		size_t i;
		json_t *e;
		int64_t shift = start_ns(v[r]) - t0;
		json_array_foreach(json_object_get(v[r], key), i, e) {
			json_t *c = json_deep_copy(e);
			if (json_is_object(c)) {
				/* Entries of a merged report keep their pid. */
				if (!json_object_get(c, "pid"))
					json_object_set(c, "pid", json_object_get(v[r], "pid"));
				if (!strcmp(key, "events") && shift > 0)
					json_object_set_new(c, "t_ns",
							    json_integer((json_int_t)(cgs_cli_u64(e, "t_ns") + (uint64_t)shift)));
			}
			all[m++] = c;
		}
	}
	if (!strcmp(key, "events"))
		qsort(all, m, sizeof(*all), event_cmp);
	json_t *out = json_array();
	for (size_t i = 0; i < m; i++)
		json_array_append_new(out, all[i]);
	free(all);
	return out;
}

static const char merge_usage[] =
	"Usage: cgoshim merge REPORT.json... > merged.json\n"
	"Merge the JSON reports of several processes (one run of a program that\n"
	"forks, or several runs) into one report of the same schema: counts and\n"
	"totals added, histograms added bucket by bucket and quantiles recomputed\n"
	"from them (still within 1.6%), leak sites merged by their frames. The\n"
	"header gets \"pid\": 0 and \"merged\": [the pids]. Of several dumps of one\n"
	"process only the last counts.\n";

static bool has_pid(json_t *const *v, size_t n, json_int_t pid)
{
	for (size_t k = 0; k < n; k++) {
		if (json_integer_value(json_object_get(v[k], "pid")) == pid)
			return true;
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(v[k], "merged"), i, p)
			if (json_integer_value(p) == pid)
				return true;
	}
	return false;
}

/* A fork child's blocks inherited from a parent that is merged too are the
 * parent's (its report has them, or they were freed there): take them out
 * of the child's report, so no block counts twice. */
static void drop_inherited(json_t *const *v, size_t n)
{
	for (size_t r = 0; r < n; r++) {
		json_int_t parent = json_integer_value(json_object_get(v[r], "parent_pid"));
		json_t *l = json_object_get(v[r], "leaks");
		if (parent <= 0 || !json_is_object(l) || !has_pid(v, n, parent))
			continue;
		uint64_t ic = cgs_cli_u64(l, "inherited_count"), ib = cgs_cli_u64(l, "inherited_bytes");
		uint64_t c = cgs_cli_u64(l, "count"), b = cgs_cli_u64(l, "bytes");
		json_object_set_new(l, "count", json_integer((json_int_t)(c > ic ? c - ic : 0)));
		json_object_set_new(l, "bytes", json_integer((json_int_t)(b > ib ? b - ib : 0)));
		json_object_set_new(l, "inherited_count", json_integer(0));
		json_object_set_new(l, "inherited_bytes", json_integer(0));
		json_t *sites = json_object_get(l, "sites");
		for (size_t i = 0; i < json_array_size(sites);) {
			json_t *site = json_array_get(sites, i);
			uint64_t sc = cgs_cli_u64(site, "count"), sb = cgs_cli_u64(site, "bytes");
			uint64_t sic = cgs_cli_u64(site, "inherited_count"), sib = cgs_cli_u64(site, "inherited_bytes");
			if (sic >= sc) {
				json_array_remove(sites, i);
				continue;
			}
			json_object_set_new(site, "count", json_integer((json_int_t)(sc - sic)));
			json_object_set_new(site, "bytes", json_integer((json_int_t)(sb > sib ? sb - sib : 0)));
			json_object_set_new(site, "inherited_count", json_integer(0));
			json_object_set_new(site, "inherited_bytes", json_integer(0));
			i++;
		}
	}
}

int cgs_cli_merge(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(merge_usage, stdout);
		return fflush(stdout) ? CGS_CLI_USAGE : 0;
	}
	int first = 1;
	if (argc >= 2 && !strcmp(argv[1], "--"))
		first = 2;
	if (argc - first < 1) {
		cgs_cli_error("merge", "expected one or more reports (try 'cgoshim merge --help')");
		return CGS_CLI_USAGE;
	}
	for (int a = first; a < argc; a++)
		if (argv[a][0] == '-' && argv[a][1] && first == 1) {
			cgs_cli_error("merge", "unknown option %s (try 'cgoshim merge --help')", argv[a]);
			return CGS_CLI_USAGE;
		}
	json_t **v = NULL;
	size_t n = 0;
	for (int a = first; a < argc; a++) {
		if (cgs_cli_load_all("merge", argv[a], &v, &n)) {
			for (size_t i = 0; i < n; i++)
				json_decref(v[i]);
			free(v);
			return CGS_CLI_USAGE;
		}
	}
	/* One report per process: the later dump (higher seq) wins. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < m && !same_process(v[k], v[i]); k++)
			;
		if (k == m) {
			v[m++] = v[i];
			continue;
		}
		if (cgs_cli_u64(v[i], "seq") >= cgs_cli_u64(v[k], "seq")) {
			json_decref(v[k]);
			v[k] = v[i];
		} else {
			json_decref(v[i]);
		}
	}
	n = m;
	drop_inherited(v, n);

	int64_t t0 = start_ns(v[0]), t1 = start_ns(v[0]) + (int64_t)cgs_cli_u64(v[0], "duration_ns");
	for (size_t r = 1; r < n; r++) {
		int64_t s = start_ns(v[r]), e = s + (int64_t)cgs_cli_u64(v[r], "duration_ns");
		if (s < t0)
			t0 = s;
		if (e > t1)
			t1 = e;
	}
	json_t *out = json_object();
	/* Members in the order of the first report, then any others. */
	for (size_t r = 0; r < n; r++) {
		const char *key;
		json_t *val;
		json_object_foreach(v[r], key, val) {
			if (json_object_get(out, key))
				continue;
			json_t *x = NULL;
			if (!strcmp(key, "pid")) {
				json_object_set_new(out, "pid", json_integer(0));
				json_t *pids = json_array();
				for (size_t k = 0; k < n; k++) {
					const json_t *merged = json_object_get(v[k], "merged");
					if (json_is_array(merged) && json_array_size(merged))
						json_array_extend(pids, (json_t *)merged);
					else
						json_array_append(pids, json_object_get(v[k], "pid"));
				}
				json_object_set_new(out, "merged", pids);
				continue;
			} else if (!strcmp(key, "merged")) {
				continue;
			} else if (!strcmp(key, "exe") || !strcmp(key, "cmdline") || !strcmp(key, "trigger")) {
				bool same = true;
				for (size_t k = 1; k < n && same; k++)
					same = json_equal(val, json_object_get(v[k], key));
				x = same ? json_deep_copy(val) : json_string("");
			} else if (!strcmp(key, "final")) {
				bool all = true;
				for (size_t k = 0; k < n; k++)
					all &= json_is_true(json_object_get(v[k], "final"));
				x = json_boolean(all);
			} else if (!strcmp(key, "seq") && n > 1) {
				x = json_integer(0);
			} else if (!strcmp(key, "duration_ns") && json_object_get(v[0], "start_unix_ns")) {
				x = json_integer((json_int_t)(t1 - t0));
			} else if (!strcmp(key, "start_unix_ns")) {
				x = json_integer((json_int_t)t0);
			} else if (!strcmp(key, "counters") || !strcmp(key, "shim")) {
				/* Integers added; anything else the first's. */
				x = json_deep_copy(val);
				const char *k2;
				json_t *v2;
				json_object_foreach(x, k2, v2) {
					if (!json_is_integer(v2))
						continue;
					json_int_t sum = 0;
					for (size_t k = 0; k < n; k++) {
						const json_t *e = json_object_get(json_object_get(v[k], key), k2);
						if (json_is_integer(e))
							sum += json_integer_value(e);
					}
					json_integer_set(v2, sum);
				}
			} else if (!strcmp(key, "calls") || !strcmp(key, "targets")) {
				x = merge_stats(v, n, key);
			} else if (!strcmp(key, "leaks")) {
				x = merge_leaks(v, n);
			} else if ((!strcmp(key, "events") || !strcmp(key, "rings")) && json_is_array(val)) {
				x = merge_tagged(v, n, key, t0);
			} else {
				x = json_deep_copy(val);
			}
			json_object_set_new(out, key, x);
		}
	}
	/* One line, as the library writes it, so merged reports append as JSON Lines. */
	int rc = json_dumpf(out, stdout, JSON_REAL_PRECISION(9)) ? CGS_CLI_USAGE : 0;
	fputc('\n', stdout);
	if (fflush(stdout)) {
		cgs_cli_error("merge", "cannot write the merged report: %s", strerror(errno));
		rc = CGS_CLI_USAGE;
	}
	json_decref(out);
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	return rc;
}
