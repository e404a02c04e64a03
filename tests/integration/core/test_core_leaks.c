/* test_core_leaks.c - leak totals, leak sites, threads and realloc.
 *
 * What a user checks first in a leak report (issue #3): that its totals are
 * those of a tool they trust (valgrind), that a site points at the right
 * function, file and line in the program and in its libraries, that blocks
 * allocated in one thread and freed in another (or by threads that have
 * gone) are accounted for exactly, and that realloc moves a record instead
 * of losing or duplicating it. Differences between a "work" run and a
 * "base" run of the same program cancel what libc does on its own. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_util.h"

/* valgrind's path, or NULL. */
static json_t *site_sized(json_t *report, long long count, long long bytes);
static json_t *frame_of(json_t *site, const char *fn);

static char *find_valgrind(void)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin");
	char *found = NULL;
	for (char *d = strtok(copy, ":"); d && !found; d = strtok(NULL, ":")) {
		char *p;
		if (asprintf(&p, "%s/valgrind", d) < 0)
			break;
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

/* Parse "in use at exit: 1,234 bytes in 5 blocks" from valgrind's log. */
static int valgrind_in_use(const char *log, long long *bytes, long long *blocks)
{
	FILE *f = fopen(log, "r");
	char line[512];
	int found = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, "in use at exit:");
		if (!at)
			continue;
		char clean[512];
		size_t k = 0;
		for (char *p = at; *p && k < sizeof(clean) - 1; p++)
			if (*p != ',')
				clean[k++] = *p;
		clean[k] = 0;
		if (sscanf(clean, "in use at exit: %lld bytes in %lld blocks", bytes, blocks) == 2)
			found = 0;
	}
	fclose(f);
	return found;
}

START_TEST(leaks_equal_valgrind)
{
	char *vg = find_valgrind();
	ck_assert(vg);
	const char *prog = hbin("leak_family");
	struct hrun shim, plain;
	const char *argv[] = { prog, NULL };
	ck_assert_int_eq(hrun(argv, NULL, &shim), 0);
	ck_assert_msg(shim.final, "no final report; stderr: %s", shim.err);

	char log[300];
	snprintf(log, sizeof(log), "--log-file=%s/valgrind.log", shim.dir);
	const char *vargv[] = { vg, "--leak-check=full", "--run-libc-freeres=no", log, prog, NULL };
	struct hopts o = { .no_preload = true, .timeout_s = 120 };
	ck_assert_int_eq(hrun(vargv, &o, &plain), 0);
	ck_assert_msg(hexited(&plain, 0), "leak_family under valgrind failed: %s", plain.err);
	long long vbytes = -1, vblocks = -1;
	ck_assert_msg(valgrind_in_use(log + strlen("--log-file="), &vbytes, &vblocks) == 0,
		      "no 'in use at exit' line in valgrind's log");
	unlink(log + strlen("--log-file="));

	ck_assert(hexited(&shim, 0));
	ck_assert_str_eq(shim.out, plain.out);
	printf("valgrind: %lld bytes in %lld blocks; cgoshim: %lld bytes in %lld blocks\n", vbytes, vblocks,
	       hnum(shim.final, "leaks.bytes"), hnum(shim.final, "leaks.count"));
	ck_assert_int_eq(hnum(shim.final, "leaks.count"), vblocks);
	ck_assert_int_eq(hnum(shim.final, "leaks.bytes"), vbytes);
	ck_assert_int_eq(hnum(shim.final, "counters.unknown_frees"), 0);
	/* Every entry point went through the shim. */
	static const char *const fns[] = { "malloc", "calloc", "realloc", "reallocarray", "free",
					   "posix_memalign", "aligned_alloc", "memalign", "valloc",
					   "malloc_usable_size" };
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		ck_assert_msg(hcount(shim.final, fns[i]) > 0, "%s not counted", fns[i]);
	hrun_free(&shim);
	hrun_free(&plain);
	free(vg);
}
END_TEST

/* One frame of a valgrind loss record: "by 0x...: fn (file.c:42)". */
struct vframe {
	char fn[128], file[128];
	int line;
};

/* The loss record of valgrind's log for a block of `bytes` bytes: its
 * frames after the allocator's own (those in valgrind's preload). */
static int valgrind_record(const char *log, long long bytes, struct vframe *v, int max)
{
	FILE *f = fopen(log, "r");
	char line[1024];
	int n = -1;
	bool in = false;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, " bytes in 1 blocks are ");
		if (at) {
			if (in)
				break;
			char *p = at;
			while (p > line && p[-1] != ' ')
				p--;
			long long b = 0;
			for (; p < at; p++)
				if (*p >= '0' && *p <= '9')
					b = b * 10 + (*p - '0');
			in = b == bytes;
			if (in)
				n = 0;
			continue;
		}
		if (!in)
			continue;
		char *by = strstr(line, ": ");
		if (!by || (!strstr(line, " at 0x") && !strstr(line, " by 0x"))) {
			if (n > 0)
				break;
			continue;
		}
		if (strstr(line, "vgpreload") || n >= max)
			continue;
		struct vframe *fr = &v[n];
		if (sscanf(by + 2, "%127s (%127[^:]:%d)", fr->fn, fr->file, &fr->line) == 3)
			n++;
	}
	fclose(f);
	return n;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Every frame valgrind names for each leak of leak_lines (built -O2, where
 * the instruction after a call belongs to the next line) has the same
 * file and line in cgoshim's site: the line of the call, looked up at
 * (return address - 1), the innermost frame too. */
START_TEST(lines_equal_valgrind)
{
	char *vg = find_valgrind();
	ck_assert(vg);
	const char *prog = hbin("leak_lines");
	struct hrun shim, plain;
	const char *argv[] = { prog, NULL };
	ck_assert_int_eq(hrun(argv, NULL, &shim), 0);
	ck_assert_msg(shim.final, "no final report; stderr: %s", shim.err);
	char log[300];
	snprintf(log, sizeof(log), "--log-file=%s/valgrind.log", shim.dir);
	const char *vargv[] = { vg, "--leak-check=full", "--show-leak-kinds=all", "--run-libc-freeres=no",
				log, prog, NULL };
	struct hopts o = { .no_preload = true, .timeout_s = 120 };
	ck_assert_int_eq(hrun(vargv, &o, &plain), 0);
	ck_assert_msg(hexited(&plain, 0), "leak_lines under valgrind failed: %s", plain.err);
	static const long long sizes[] = { 1002, 2003, 3004, 4004, 5005, 6006, 34 };
	int bad = 0, compared = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vframe v[16];
		int nv = valgrind_record(log + strlen("--log-file="), sizes[i], v, 16);
		ck_assert_msg(nv > 0, "no loss record of %lld bytes in valgrind's log", sizes[i]);
		json_t *site = site_sized(shim.final, 1, sizes[i]);
		ck_assert_msg(site, "no site of 1 block of %lld bytes", sizes[i]);
		json_t *frames = json_object_get(site, "frames");
		for (int k = 0; k < nv; k++) {
			json_t *f = json_array_get(frames, (size_t)k);
			const char *file = f ? base_name(jstr(f, "file")) : "(none)";
			long long line = f ? jint(f, "line") : -1;
			/* Frames valgrind cannot place (libc without line
			 * information) are not compared. */
			if (!v[k].line)
				continue;
			compared++;
			if (strcmp(file, v[k].file) || line != v[k].line) {
				printf("%lld bytes, frame %d: valgrind %s (%s:%d), cgoshim %s (%s:%lld)\n", sizes[i], k,
				       v[k].fn, v[k].file, v[k].line, f ? jstr(f, "function") : "-", file, line);
				bad++;
			}
		}
	}
	unlink(log + strlen("--log-file="));
	printf("%d frames compared with valgrind\n", compared);
	ck_assert_int_ge(compared, 9);
	ck_assert_msg(bad == 0, "%d frames name another line than valgrind (see above)", bad);
	hrun_free(&shim);
	hrun_free(&plain);
	free(vg);
}
END_TEST

/* A leak made in a signal handler: the frame the signal interrupted is an
 * exact PC (a ud2 that starts its line), and keeps its own line, while the
 * frames around it are return addresses (the call lines). */
START_TEST(lines_signal_frame)
{
	struct hrun r;
	const char *argv[] = { hbin("leak_lines"), "trap", NULL };
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report; stderr: %s", r.err);
	int want = 0;
	const char *p = strstr(r.out, "trap line ");
	ck_assert(p && sscanf(p, "trap line %d", &want) == 1);
	json_t *s = site_sized(r.final, 1, 7007);
	ck_assert_msg(s, "no site of the handler's 7007 bytes");
	json_t *f = frame_of(s, "trap");
	ck_assert_msg(f, "no frame of trap() in the handler's site");
	ck_assert_int_eq(jint(f, "line"), want);
	f = json_array_get(json_object_get(s, "frames"), 0);
	ck_assert_str_eq(jstr(f, "function"), "on_ill");
	hrun_free(&r);
}
END_TEST

/* Each entry point's count is the number of calls leak_family makes
 * (pvalloc included): an
 * entry point of libc that calls another through the PLT (glibc's
 * reallocarray calls realloc) must not be counted twice, nor make the
 * inner call see an unknown pointer. */
START_TEST(calls_exact)
{
	struct hrun r;
	const char *argv[] = { hbin("leak_family"), "pvalloc", NULL };
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report; stderr: %s", r.err);
	ck_assert_int_eq(hnum(r.final, "counters.unknown_frees"), 0);
	static const struct { const char *fn; long long n; } want[] = {
		{ "calloc", 3 }, { "realloc", 4 }, { "reallocarray", 3 }, { "free", 9 },
		{ "posix_memalign", 2 }, { "aligned_alloc", 2 }, { "memalign", 2 }, { "valloc", 2 }, { "pvalloc", 2 },
		{ "malloc_usable_size", 1 },
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		long long got = hcount(r.final, want[i].fn);
		if (got != want[i].n) {
			printf("%s: %lld calls counted, %lld made\n", want[i].fn, got, want[i].n);
			bad++;
		}
	}
	/* malloc: 8 by the program, 1 by stdio for stdout's buffer. */
	long long m = hcount(r.final, "malloc");
	if (m != 9) {
		printf("malloc: %lld calls counted, 9 made\n", m);
		bad++;
	}
	ck_assert_msg(bad == 0, "%d entry points miscounted (see above)", bad);
	hrun_free(&r);
}
END_TEST

/* The frame of site whose function is fn, or NULL. */
static json_t *frame_of(json_t *site, const char *fn)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(site, "frames"), i, f)
		if (!strcmp(jstr(f, "function"), fn))
			return f;
	return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && !strcmp(s + a - b, tail);
}

/* The site with exactly this count and bytes, or NULL. */
static json_t *site_sized(json_t *report, long long count, long long bytes)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(json_object_get(report, "leaks"), "sites"), i, s)
		if (jint(s, "count") == count && jint(s, "bytes") == bytes)
			return s;
	return NULL;
}

START_TEST(leak_sites_symbolised)
{
	struct hrun r;
	const char *argv[] = { hbin("leaky"), NULL };
	ck_assert_int_eq(hrun(argv, NULL, &r), 0);
	ck_assert(hexited(&r, 0));
	ck_assert_msg(r.final, "no final report; stderr: %s", r.err);
	int line_here = 0, line_lib = 0;
	const char *p = strstr(r.out, "leak_here line ");
	ck_assert(p && sscanf(p, "leak_here line %d", &line_here) == 1);
	p = strstr(r.out, "lib_leak line ");
	ck_assert(p && sscanf(p, "lib_leak line %d", &line_lib) == 1);

	json_t *s = site_sized(r.final, 100, 100 * 4242);
	ck_assert_msg(s, "no site of 100 blocks, 424200 bytes");
	json_t *f0 = json_array_get(json_object_get(s, "frames"), 0);
	ck_assert_str_eq(jstr(f0, "function"), "leak_here");
	ck_assert_msg(ends_with(jstr(f0, "file"), "leaky.c"), "file %s", jstr(f0, "file"));
	ck_assert_int_eq(jint(f0, "line"), line_here);
	ck_assert_msg(ends_with(jstr(f0, "module"), "/leaky"), "module %s", jstr(f0, "module"));
	ck_assert(frame_of(s, "main"));

	s = site_sized(r.final, 7, 7 * 9999);
	ck_assert_msg(s, "no site of 7 blocks, 69993 bytes");
	f0 = json_array_get(json_object_get(s, "frames"), 0);
	ck_assert_str_eq(jstr(f0, "function"), "lib_leak");
	ck_assert_msg(jstr(f0, "module")[0] == '/' && ends_with(jstr(f0, "module"), "/libcoreleak.so"),
		      "module %s", jstr(f0, "module"));
	ck_assert_msg(ends_with(jstr(f0, "file"), "leaklib.c"), "file %s", jstr(f0, "file"));
	ck_assert_int_eq(jint(f0, "line"), line_lib);
	ck_assert(frame_of(s, "main"));

	ck_assert_int_eq(frames_in_module(r.final, "libcgoshim"), 0);
	hrun_free(&r);
}
END_TEST

struct pair {
	struct hrun base, work;
};

static void run_pair(const char *prog, struct pair *p)
{
	const char *b[] = { hbin(prog), "base", NULL };
	const char *w[] = { hbin(prog), "work", NULL };
	ck_assert_int_eq(hrun(b, NULL, &p->base), 0);
	ck_assert_int_eq(hrun(w, NULL, &p->work), 0);
	ck_assert_msg(hexited(&p->base, 0), "%s base: %s", prog, p->base.err);
	ck_assert_msg(hexited(&p->work, 0), "%s work: %s", prog, p->work.err);
	ck_assert_msg(p->base.final && p->work.final, "%s: missing final report", prog);
}

static long long delta(struct pair *p, const char *path)
{
	return hnum(p->work.final, path) - hnum(p->base.final, path);
}

START_TEST(threads_exact)
{
	struct pair p;
	run_pair("threads_leak", &p);
	long long c, b;
	/* 10 x (10000 + 5) in phase A, 20 x (100 + 3) in phase B. */
	ck_assert_int_eq(hcount(p.work.final, "malloc") - hcount(p.base.final, "malloc"), 102110);
	ck_assert_int_eq(delta(&p, "leaks.count"), 50 + 60);
	ck_assert_int_eq(delta(&p, "leaks.bytes"), 50 * 777 + 60 * 555);
	sites_at_fn(p.work.final, "thread_leak", &c, &b);
	ck_assert_int_eq(c, 50);
	ck_assert_int_eq(b, 50 * 777);
	sites_at_fn(p.work.final, "detached_leak", &c, &b);
	ck_assert_int_eq(c, 60);
	ck_assert_int_eq(b, 60 * 555);
	ck_assert_int_eq(hnum(p.work.final, "counters.unknown_frees"), 0);
	ck_assert_int_eq(hnum(p.work.final, "counters.untracked_allocs"), 0);
	ck_assert_int_eq(frames_in_module(p.work.final, "libcgoshim"), 0);
	hrun_free(&p.base);
	hrun_free(&p.work);
}
END_TEST

START_TEST(realloc_records)
{
	struct pair p;
	run_pair("realloc_sem", &p);
	ck_assert_msg(strstr(p.work.out, "huge realloc failed 1, reallocarray overflow failed 1, moved yes"),
		      "unexpected output: %s", p.work.out);
	long long c, b;
	sites_at_fn(p.work.final, "keep_old", &c, &b);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(b, 3333);
	sites_at_fn(p.work.final, "keep_old_array", &c, &b);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(b, 2121);
	sites_at_fn(p.work.final, "grow_me", &c, &b);
	ck_assert_int_eq(c, 50);
	ck_assert_int_eq(b, 50 * 5555);
	sites_at_fn(p.work.final, "shrink_me", &c, &b);
	ck_assert_int_eq(c, 50);
	ck_assert_int_eq(b, 50 * 2222);
	sites_at_fn(p.work.final, "spacer", &c, &b);
	ck_assert_int_eq(c, 50);
	ck_assert_int_eq(b, 50 * 16);
	ck_assert_int_eq(delta(&p, "leaks.count"), 152);
	ck_assert_int_eq(delta(&p, "leaks.bytes"), 3333 + 2121 + 50 * 5555 + 50 * 2222 + 50 * 16);
	ck_assert_int_ge(jint(hcall(p.work.final, "realloc"), "errors"), 1);
	ck_assert_int_ge(jint(hcall(p.work.final, "reallocarray"), "errors"), 1);
	ck_assert_int_eq(hnum(p.work.final, "counters.unknown_frees"), 0);
	ck_assert_int_eq(frames_in_module(p.work.final, "libcgoshim"), 0);
	hrun_free(&p.base);
	hrun_free(&p.work);
}
END_TEST

static const char *need_valgrind(void)
{
	char *vg = find_valgrind();
	bool found = vg != NULL;
	free(vg);
	return found ? NULL : "valgrind is not installed; cannot compare leak totals with it";
}

int main(int argc, char **argv)
{
	const struct core_case cases[] = {
		{ "valgrind", leaks_equal_valgrind, need_valgrind },
		{ "lines-valgrind", lines_equal_valgrind, need_valgrind },
		{ "lines-signal", lines_signal_frame, NULL },
		{ "calls", calls_exact, NULL },
		{ "sites", leak_sites_symbolised, NULL },
		{ "threads", threads_exact, NULL },
		{ "realloc", realloc_records, NULL },
	};
	return core_main(argc, argv, "core-leaks", cases, sizeof(cases) / sizeof(cases[0]));
}
