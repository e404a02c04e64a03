/* test_rings.c - the flight recorder seen from outside: real programs under
 * the preload, their final reports read back (suite "rings").
 *
 * Cases (one per meson test; the case name is the argument):
 *   c-reads   slowio makes 4 pipe reads that a thread answers after 20,
 *             12, 8 and 5 ms, and 20 reads that find data waiting, with
 *             CGOSHIM_SLOW_NS=4ms. The report's events hold exactly the 4
 *             slow reads, in order: fn "read", target "pipe", the fd, the
 *             thread, a duration within 1% of what the program measured
 *             around the call, result 1, and a stack through slow_read.
 *   c-dl      every dlopen, dlsym, dlvsym and dlclose of slowio is an
 *             event, in order, with what it opened or looked up and its
 *             result (failures included), and their number equals the
 *             call counts.
 *   topology  CGOSHIM_NUMA_TOPOLOGY gives 2, 4 and 8 nodes (CPU 0 -> node
 *             N-1, CPU 1 -> node N-2, the other nodes to CPUs this machine
 *             lacks); slowio pinned to CPU 1: its slow reads are on node
 *             N-2 and CPU 1, the report lists every node, rings of nodes
 *             that do not exist here are unbound (bound_node -1) and
 *             counted, and nothing crashed.
 *             Calls per node: all of slowio's calls are its main thread's,
 *             counted on node N-2 (or, for calls after its thread's end,
 *             unattributed).
 *   refine    once the watcher has measured the TSC rate (100 ms after
 *             start), calls shorter than CGOSHIM_SLOW_NS are not even
 *             written: after a 300 ms sleep, 3 reads of 60 ms and one of
 *             150 ms with a 100 ms threshold: every record written is one
 *             the report shows, the 150 ms read among them. (Before
 *             calibration the threshold assumes 1 tick per ns, which on a
 *             TSC above 1.7 GHz would write the 60 ms reads too. The wide
 *             margins keep a loaded machine from stretching a call across
 *             either threshold.)
 *   fork      slowio makes 2 slow reads, then forks a child that makes one
 *             of its own: each process's final report has its own reads
 *             and none of the other's, and the child's ring is bound as
 *             the parent's is.
 *   formats   CGOSHIM_FORMAT=chrome gives a trace-event file (JSON object
 *             with traceEvents; "X" events in us) holding the slow reads;
 *             the text report has the rings table and the timeline.
 *   go        a Go program's C code makes one 40 ms read, then the program
 *             calls os.Exit(0) (a raw exit_group): the final report still
 *             has the read. Exits 77 without a Go toolchain.
 * Machine facts a case needs (2 CPUs for "topology") are checked and a
 * failure says which. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"

#define SLOW_NS "4ms"

/* ---- helpers ------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

struct slow {
	int fd;
	long long ns;
};

/* Parse slowio's output: its tid and slow reads. Returns how many. */
static int parse_slowio(const char *out, long *tid, struct slow *v, int cap)
{
	int n = 0;
	*tid = -1;
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int i, fd;
		long long ns;
		long t;
		if (sscanf(l, "tid %ld", &t) == 1)
			*tid = t;
		else if (sscanf(l, "slow %d fd %d ns %lld", &i, &fd, &ns) == 3 && n < cap) {
			v[n].fd = fd;
			v[n].ns = ns;
			n++;
		}
	}
	return n;
}

static bool is_read_fn(const char *fn)
{
	return strstr(fn, "read") != NULL; /* read, __read_chk, pread64, readv... */
}

static bool is_dl_fn(const char *fn)
{
	return !strcmp(fn, "dlopen") || !strcmp(fn, "dlsym") || !strcmp(fn, "dlvsym") || !strcmp(fn, "dlclose");
}

static bool stack_has(json_t *ev, const char *function)
{
	json_t *st = json_object_get(ev, "stack"), *f;
	size_t i;
	json_array_foreach(st, i, f)
		if (strstr(jstr(f, "function"), function))
			return true;
	return false;
}

/* dur within 1% of the program's own measure, which also holds the
 * shim's work around the call: never (much) above it. That work includes
 * the slow call's stack capture, which the first time at a call site (in a
 * fork child: the first time in that process) takes up to a few hundred
 * us on a loaded machine, so below the measure 1% + 300 us is allowed. The
 * accuracy of the call's own timing is io-timing's subject. */
static void check_duration(long long dur, long long measured, const char *what)
{
	ck_assert_msg(dur > 0 && dur <= measured + 1000 && dur >= measured - measured / 100 - 300000,
		      "%s: dur_ns %lld, the program measured %lld ns", what, dur, measured);
}

static struct hrun run_slowio(const char *const *args, const char *const *env)
{
	const char *argv[16] = { hbin("slowio") };
	size_t a = 1;
	for (; args && *args && a < 15; args++)
		argv[a++] = *args;
	argv[a] = NULL;
	struct hopts o = { .env = env };
	struct hrun r;
	ck_assert_msg(hrun(argv, &o, &r) == 0, "slowio timed out");
	ck_assert_msg(hexited(&r, 0), "slowio failed: %s", r.err);
	ck_assert_msg(r.final, "no final report in %s; stderr: %s", r.dir, r.err);
	return r;
}

/* Events of the report whose fn passes keep(). */
static size_t events_where(json_t *report, bool (*keep)(const char *), json_t **out, size_t cap)
{
	json_t *evs = json_object_get(report, "events"), *e;
	size_t i, n = 0;
	ck_assert_msg(json_is_array(evs), "the report has no events array");
	json_array_foreach(evs, i, e)
		if (keep(jstr(e, "fn")) && n < cap)
			out[n++] = e;
	return n;
}

/* ---- c-reads ------------------------------------------------------------ */

START_TEST(c_reads)
{
	static const char *const env[] = { "CGOSHIM_SLOW_NS=" SLOW_NS, NULL };
	/* The slowest first: the first record of a process also pays for
	 * first-time costs (its stack's unwind info, fresh ring pages), which
	 * the program's own measure includes. */
	static const char *const args[] = { "-reads", "20,12,8,5", "-fast", "20", NULL };
	struct hrun r = run_slowio(args, env);
	struct slow want[8];
	long tid;
	int n = parse_slowio(r.out, &tid, want, 8);
	ck_assert_int_eq(n, 4);

	json_t *ev[64];
	size_t got = events_where(r.final, is_read_fn, ev, 64);
	ck_assert_msg(got == 4, "%zu read events, want exactly the 4 slow reads", got);
	long long prev_t = -1;
	for (int i = 0; i < n; i++) {
		char what[32];
		snprintf(what, sizeof(what), "slow read %d", i);
		ck_assert_str_eq(jstr(ev[i], "fn"), "read");
		ck_assert_str_eq(jstr(ev[i], "target"), "pipe");
		ck_assert_int_eq(jint(ev[i], "fd"), want[i].fd);
		ck_assert_int_eq(jint(ev[i], "tid"), tid);
		ck_assert_int_eq(jint(ev[i], "result"), 1);
		ck_assert_int_eq(jint(ev[i], "errno"), 0);
		check_duration(jint(ev[i], "dur_ns"), want[i].ns, what);
		ck_assert_msg(stack_has(ev[i], "slow_read"), "%s: no slow_read frame in its stack", what);
		ck_assert_int_gt(jint(ev[i], "t_ns"), prev_t);
		prev_t = jint(ev[i], "t_ns");
		printf("%s: %lld ns in the report, %lld ns measured by the program\n", what,
		       jint(ev[i], "dur_ns"), want[i].ns);
	}
	/* The fast reads were made and timed, but are not events. */
	ck_assert_int_eq(hcount(r.final, "read"), 4 + 20);

	/* The ring of the node: bound as the kernel has it, and the events'
	 * node is a listed ring. */
	json_t *rings = json_object_get(r.final, "rings"), *ring;
	size_t i;
	ck_assert_int_ge(json_array_size(rings), 1);
	json_array_foreach(rings, i, ring) {
		ck_assert_int_eq(jint(ring, "overwritten"), 0);
		ck_assert_int_eq(jint(ring, "capacity"), 1024); /* the default */
		if (hnum(r.final, "counters.ring_bind_failed") == 0)
			ck_assert_int_eq(jint(ring, "bound_node"), jint(ring, "node"));
	}
	hrun_free(&r);
}
END_TEST

/* ---- routine ------------------------------------------------------------ */

/* A loop of 5000 dlsym calls, each far under the threshold, after a slow
 * read, a dlopen and before a dlclose: the routine calls go to their own
 * ring, so the slow read, the dlopen and the dlclose are all still in the
 * final report (before, the loop overwrote them all), the routine ring's
 * counts are exact, and the text report prints each distinct stack once. */
START_TEST(routine)
{
	static const char *const args[] = { "-reads", "15", "-fast", "0", "-dlsyms", "5000", NULL };
	struct hrun r = run_slowio(args, NULL);
	json_t *ev[2048];
	size_t n = events_where(r.final, is_dl_fn, ev, 2048);
	bool dlopen_seen = false, dlclose_seen = false;
	for (size_t i = 0; i < n; i++) {
		dlopen_seen |= !strcmp(jstr(ev[i], "fn"), "dlopen") && !strcmp(jstr(ev[i], "target"), "libm.so.6");
		dlclose_seen |= !strcmp(jstr(ev[i], "fn"), "dlclose");
	}
	ck_assert_msg(dlopen_seen && dlclose_seen, "the dlopen or dlclose of libm was pushed out by 5000 dlsym calls");
	size_t slow = 0, i;
	json_t *e;
	json_array_foreach(json_object_get(r.final, "events"), i, e)
		slow += !strcmp(jstr(e, "fn"), "read") && jint(e, "dur_ns") >= 10000000;
	ck_assert_msg(slow == 1, "the 15 ms read is not in the report (%zu)", slow);
	long long written = 0, over = 0, cap = 0, main_over = 0;
	json_t *ring;
	json_array_foreach(json_object_get(r.final, "rings"), i, ring) {
		json_t *rd = json_object_get(ring, "routine_dlsym");
		ck_assert_msg(rd, "no routine_dlsym in a ring row");
		written += jint(rd, "written");
		over += jint(rd, "overwritten");
		cap = jint(rd, "capacity");
		main_over += jint(ring, "overwritten");
	}
	/* 5000 + the first cos + no_such_symbol + the dlvsym of cos@GLIBC_2.2.5 */
	ck_assert_msg(written >= 5003, "routine dlsym ring: %lld written, want 5003 or more", written);
	ck_assert_msg(cap == 256 && over >= written - (long long)json_array_size(json_object_get(r.final, "rings")) * cap,
		      "routine ring capacity %lld, %lld overwritten of %lld", cap, over, written);
	ck_assert_msg(main_over == 0, "the slow calls' ring overwrote %lld records", main_over);
	hrun_free(&r);

	/* Text: the loop's calls share one stack, printed once. */
	static const char *const env[] = { "CGOSHIM_FORMAT=text", NULL };
	const char *argv[16] = { hbin("slowio") };
	for (size_t a = 0; args[a]; a++)
		argv[a + 1] = args[a];
	struct hopts o = { .env = env };
	ck_assert_msg(hrun(argv, &o, &r) == 0, "slowio timed out");
	static char t[1 << 20];
	size_t tl = 0;
	DIR *d = opendir(r.dir);
	ck_assert_msg(d, "no report directory %s", r.dir);
	struct dirent *de;
	while ((de = readdir(d)) && !tl) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", r.dir, de->d_name);
		FILE *f = fopen(path, "r");
		if (f) {
			tl = fread(t, 1, sizeof(t) - 1, f);
			fclose(f);
		}
	}
	closedir(d);
	t[tl] = 0;
	ck_assert_msg(tl, "no text report in %s", r.dir);
	int stacks = 0;
	for (const char *p = t; (p = strstr(p, " stack (innermost frame first):")); p++)
		stacks++;
	ck_assert_msg(stacks > 0 && stacks < 10, "%d stacks printed for 20 calls, most from one loop:\n%.3000s", stacks, t);
	ck_assert_msg(strstr(t, "-#"), "no shared stack (#a-#b) in:\n%.3000s", t);
	hrun_free(&r);
}
END_TEST

/* ---- c-dl --------------------------------------------------------------- */

START_TEST(c_dl)
{
	static const char *const args[] = { "-reads", "", "-fast", "0", NULL };
	struct hrun r = run_slowio(args, NULL);
	static const struct {
		const char *fn, *target;
		bool ok;
	} want[] = {
		{ "dlopen", "libm.so.6", true },
		{ "dlsym", "cos in libm.so.6", true },
		{ "dlsym", "no_such_symbol in libm.so.6", false },
		{ "dlvsym", "cos@GLIBC_2.2.5 in libm.so.6", true },
		{ "dlopen", "libno-such-library.so.9", false },
		{ "dlclose", "libm.so.6", true },
	};
	json_t *ev[64];
	size_t got = events_where(r.final, is_dl_fn, ev, 64);
	ck_assert_msg(got == (sizeof(want) / sizeof(want[0])), "%zu dl events, want %zu", got, (sizeof(want) / sizeof(want[0])));
	for (size_t i = 0; i < got; i++) {
		ck_assert_str_eq(jstr(ev[i], "fn"), want[i].fn);
		ck_assert_str_eq(jstr(ev[i], "target"), want[i].target);
		bool ok = strcmp(want[i].fn, "dlclose") ? jint(ev[i], "result") != 0 : jint(ev[i], "result") == 0;
		ck_assert_msg(ok == want[i].ok, "%s %s: result %lld", want[i].fn, want[i].target,
			      jint(ev[i], "result"));
		ck_assert_msg(stack_has(ev[i], "dl_calls") || stack_has(ev[i], "main"),
			      "%s %s: no frame of the program", want[i].fn, want[i].target);
		ck_assert_int_ge(jint(ev[i], "dur_ns"), 1);
	}
	/* Every timed dl call is an event. */
	ck_assert_int_eq(hcount(r.final, "dlopen"), 2);
	ck_assert_int_eq(hcount(r.final, "dlsym"), 2);
	ck_assert_int_eq(hcount(r.final, "dlvsym"), 1);
	ck_assert_int_eq(hcount(r.final, "dlclose"), 1);
	hrun_free(&r);
}
END_TEST

/* ---- topology ------------------------------------------------------------ */

static void check_nodes(int nodes)
{
	char spec[256], var[300];
	int k = snprintf(spec, sizeof(spec), "0:%d,1:%d", nodes - 1, nodes - 2);
	for (int i = 0; i < nodes - 2; i++)
		k += snprintf(spec + k, sizeof(spec) - (size_t)k, ",%d:%d", 200 + i, i);
	snprintf(var, sizeof(var), "CGOSHIM_NUMA_TOPOLOGY=%s", spec);
	const char *const env[] = { "CGOSHIM_SLOW_NS=" SLOW_NS, var, NULL };
	static const char *const args[] = { "-cpu", "1", "-reads", "5,6", "-fast", "0", "-nodl", NULL };
	struct hrun r = run_slowio(args, env);
	printf("%d nodes (%s): exit ok, %zu report(s)\n", nodes, spec, r.nreports);

	json_t *ev[16];
	size_t got = events_where(r.final, is_read_fn, ev, 16);
	ck_assert_int_eq(got, 2);
	for (size_t i = 0; i < got; i++) {
		ck_assert_int_eq(jint(ev[i], "node"), nodes - 2);
		ck_assert_int_eq(jint(ev[i], "cpu"), 1);
	}
	json_t *rings = json_object_get(r.final, "rings");
	size_t i2;
	ck_assert_int_eq(json_array_size(rings), nodes);
	bool have_node0 = access("/sys/devices/system/node/node0", F_OK) == 0;
	long long unbound = 0;
	for (int node = 0; node < nodes; node++) {
		json_t *ring = json_array_get(rings, (size_t)node);
		char path[64];
		ck_assert_int_eq(jint(ring, "node"), node);
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
		bool exists = access(path, F_OK) == 0;
		if (!exists) {
			ck_assert_int_eq(jint(ring, "bound_node"), -1);
			ck_assert_str_eq(jstr(ring, "policy"), "none");
			unbound++;
		}
		if (node == nodes - 2)
			ck_assert_int_ge(jint(ring, "written"), 2);
		else if (node != nodes - 1)
			ck_assert_int_eq(jint(ring, "written"), 0); /* its CPUs do not exist */
	}
	ck_assert_int_eq(hnum(r.final, "counters.ring_bind_failed"), unbound);

	/* Calls per node: slowio's calls are its main thread's (the answering
	 * thread makes none the shim sees), last seen on node N-2. */
	long long total = 0, on_node = 0, elsewhere = 0;
	json_t *calls = json_object_get(r.final, "calls"), *c;
	json_array_foreach(calls, i2, c)
		total += jint(c, "count");
	json_array_foreach(rings, i2, c) {
		if (jint(c, "node") == nodes - 2)
			on_node += jint(c, "calls");
		else
			elsewhere += jint(c, "calls");
	}
	long long unattributed = jint(json_object_get(r.final, "recorder"), "unattributed_calls");
	printf("%d nodes: %lld calls, %lld on node %d, %lld unattributed\n", nodes, total, on_node, nodes - 2,
	       unattributed);
	ck_assert_int_gt(on_node, 0);
	ck_assert_int_eq(elsewhere, 0);
	ck_assert_int_eq(on_node + unattributed, total);
	if (have_node0)
		ck_assert_int_eq(jint(json_array_get(rings, 0), "bound_node"), 0);
	ck_assert_str_eq(jstr(json_object_get(r.final, "recorder"), "topology"), "override");
	hrun_free(&r);
}

START_TEST(topology)
{
	ck_assert_msg(sysconf(_SC_NPROCESSORS_ONLN) >= 2, "this case needs CPUs 0 and 1");
	check_nodes(2);
	check_nodes(4);
	check_nodes(8);
}
END_TEST

/* ---- refine -------------------------------------------------------------- */

START_TEST(refine)
{
	static const char *const env[] = { "CGOSHIM_SLOW_NS=100ms", NULL };
	static const char *const args[] = { "-sleep", "300", "-reads", "60,60,60,150", "-fast", "0", "-nodl",
					    NULL };
	struct hrun r = run_slowio(args, env);
	json_t *ev[16];
	size_t got = events_where(r.final, is_read_fn, ev, 16);
	ck_assert_msg(got >= 1, "no read event: the 150 ms read is missing");
	ck_assert_int_ge(jint(ev[got - 1], "dur_ns"), 150000000);
	for (size_t k = 0; k < got; k++)
		ck_assert_int_ge(jint(ev[k], "dur_ns"), 100000000);
	long long written = 0;
	json_t *rings = json_object_get(r.final, "rings"), *ring;
	size_t i;
	json_array_foreach(rings, i, ring)
		written += jint(ring, "written");
	ck_assert_msg(written == (long long)json_array_size(json_object_get(r.final, "events")),
		      "%lld records written, %zu shown: calls under the threshold were written after calibration",
		      written, json_array_size(json_object_get(r.final, "events")));
	hrun_free(&r);
}
END_TEST

/* ---- fork ---------------------------------------------------------------- */

START_TEST(fork_child)
{
	static const char *const env[] = { "CGOSHIM_SLOW_NS=" SLOW_NS, NULL };
	static const char *const args[] = { "-reads", "20,8", "-fast", "2", "-nodl", "-fork", "12", NULL };
	struct hrun r = run_slowio(args, env);
	int child = 0, fd;
	long long ns;
	const char *l = strstr(r.out, "child ");
	ck_assert_msg(l && sscanf(l, "child %d slow fd %d ns %lld", &child, &fd, &ns) == 3, "slowio printed: %s",
		      r.out);
	size_t n;
	json_t **reps = hreports(&r, &n);
	json_t *parent_final = NULL, *child_final = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!json_is_true(json_object_get(reps[i], "final")))
			continue;
		if (jint(reps[i], "pid") == r.pid)
			parent_final = reps[i];
		else if (jint(reps[i], "pid") == child)
			child_final = reps[i];
	}
	ck_assert_msg(parent_final && child_final, "final reports: parent %s, child %s", parent_final ? "yes" : "no",
		      child_final ? "yes" : "no");
	json_t *ev[16];
	size_t got = events_where(parent_final, is_read_fn, ev, 16);
	ck_assert_msg(got == 2, "%zu read events in the parent's report, want its 2", got);
	got = events_where(child_final, is_read_fn, ev, 16);
	ck_assert_msg(got == 1, "%zu read events in the child's report, want its 1", got);
	ck_assert_int_eq(jint(ev[0], "tid"), child);
	check_duration(jint(ev[0], "dur_ns"), ns, "the child's read");
	json_t *pr = json_array_get(json_object_get(parent_final, "rings"), 0);
	json_t *cr = json_array_get(json_object_get(child_final, "rings"), 0);
	ck_assert_int_eq(jint(cr, "bound_node"), jint(pr, "bound_node"));
	ck_assert_int_eq(jint(cr, "written"), 1);
	hreports_free(reps, n);
	hrun_free(&r);
}
END_TEST

/* ---- formats -------------------------------------------------------------- */

/* Run slowio with the preload and these variables, reports into a fresh
 * directory; wait up to 10 s for the one report file. Returns its text. */
static char *run_format(const char *format, struct slow *want, int *n)
{
	char dir[] = "/tmp/cgoshim-rings-XXXXXX", lib[600], out[300], fmt[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(lib, sizeof(lib), "LD_PRELOAD=%s", getenv("CGOSHIM_TEST_LIB"));
	snprintf(out, sizeof(out), "CGOSHIM_OUTPUT=%s/report", dir);
	snprintf(fmt, sizeof(fmt), "CGOSHIM_FORMAT=%s", format);
	const char *const env[] = { lib, out, fmt, "CGOSHIM_SLOW_NS=" SLOW_NS, NULL };
	const char *argv[] = { hbin("slowio"), "-reads", "25,10", "-fast", "5", "-nodl", NULL };
	struct hopts o = { .env = env, .no_preload = true };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert(hexited(&r, 0));
	long tid;
	*n = parse_slowio(r.out, &tid, want, 8);
	hrun_free(&r);

	char path[400];
	snprintf(path, sizeof(path), "%s/report", dir);
	struct stat st;
	for (int i = 0; i < 1000 && stat(path, &st); i++)
		usleep(10000);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "no %s report at %s", format, path);
	char *text = calloc(1, (size_t)st.st_size + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	unlink(path);
	rmdir(dir);
	return text;
}

START_TEST(formats)
{
	struct slow want[8];
	int n;
	char *text = run_format("chrome", want, &n);
	ck_assert_int_eq(n, 2);
	json_error_t err;
	json_t *doc = json_loads(text, 0, &err);
	ck_assert_msg(doc, "the chrome trace is not JSON: %s (line %d)", err.text, err.line);
	json_t *evs = json_object_get(doc, "traceEvents"), *e;
	ck_assert(json_is_array(evs));
	size_t i;
	int reads = 0;
	json_array_foreach(evs, i, e) {
		ck_assert(json_is_string(json_object_get(e, "ph")));
		ck_assert(json_is_integer(json_object_get(e, "pid")));
		if (strcmp(jstr(e, "ph"), "X") || strcmp(jstr(e, "name"), "read"))
			continue;
		ck_assert_int_lt(reads, n);
		double ts = json_number_value(json_object_get(e, "ts"));
		double dur = json_number_value(json_object_get(e, "dur"));
		ck_assert(ts > 0);
		check_duration((long long)(dur * 1000), want[reads].ns, "chrome read");
		ck_assert_str_eq(jstr(json_object_get(e, "args"), "target"), "pipe");
		ck_assert_int_eq(jint(json_object_get(e, "args"), "fd"), want[reads].fd);
		ck_assert_int_gt(json_array_size(json_object_get(json_object_get(e, "args"), "stack")), 0);
		reads++;
	}
	ck_assert_int_eq(reads, n);
	json_decref(doc);
	free(text);

	text = run_format("text", want, &n);
	ck_assert_ptr_nonnull(strstr(text, "flight recorder: calls of 4.00ms or more"));
	ck_assert_ptr_nonnull(strstr(text, "slowest recent calls (2 of 2 recorded"));
	char row[64];
	snprintf(row, sizeof(row), "read  pipe (fd %d)", want[0].fd);
	ck_assert_msg(strstr(text, row), "no \"%s\" row in the timeline:\n%s", row, text);
	free(text);
}
END_TEST

/* ---- go ------------------------------------------------------------------- */

START_TEST(go_exit)
{
	const char *argv[] = { hbin("goslow"), NULL };
	static const char *const env[] = { "CGOSHIM_SLOW_NS=" SLOW_NS, NULL };
	struct hopts o = { .env = env };
	struct hrun r;
	ck_assert_int_eq(hrun(argv, &o, &r), 0);
	ck_assert_msg(hexited(&r, 0), "goslow failed: %s", r.err);
	ck_assert_msg(r.final, "no final report of the Go program");
	long long ns;
	int fd;
	ck_assert_msg(sscanf(r.out, "slow ns %lld fd %d", &ns, &fd) == 2, "goslow printed: %s", r.out);
	json_t *ev[16];
	size_t got = events_where(r.final, is_read_fn, ev, 16);
	ck_assert_msg(got == 1, "%zu read events in the Go program's final report, want 1", got);
	ck_assert_str_eq(jstr(ev[0], "fn"), "read");
	ck_assert_str_eq(jstr(ev[0], "target"), "pipe");
	ck_assert_int_eq(jint(ev[0], "fd"), fd);
	check_duration(jint(ev[0], "dur_ns"), ns, "Go's C read");
	printf("go: %lld ns in the report, %lld ns measured by the program\n", jint(ev[0], "dur_ns"), ns);
	hrun_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{ "c-reads", c_reads }, { "c-dl", c_dl }, { "routine", routine }, { "topology", topology },
		{ "refine", refine }, { "fork", fork_child }, { "formats", formats }, { "go", go_exit },
	};
	const char *only = argc > 1 ? argv[1] : NULL;
	if (only && !strcmp(only, "go") && access(hbin("goslow"), X_OK)) {
		printf("go: no Go toolchain was found when building: goslow not built, skipped\n");
		return 77;
	}
	Suite *s = suite_create("rings");
	TCase *tc = tcase_create("rings");
	tcase_set_timeout(tc, 120);
	int added = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!only || !strcmp(only, cases[i].name)) {
			tcase_add_test(tc, cases[i].test);
			added++;
		}
	if (!added) {
		fprintf(stderr, "unknown case %s\n", only);
		return 2;
	}
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
