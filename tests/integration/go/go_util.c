/* go_util.c - see go_util.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "go_util.h"

void go_require(void)
{
	const char *have = getenv("CGOSHIM_TEST_HAVE_GO");
	if (!have || strcmp(have, "1")) {
		printf("SKIP: no `go` program was found when the build was configured, so the Go "
		       "programs these tests run were not built\n");
		fflush(stdout);
		exit(77);
	}
}

const char *go_example(const char *name)
{
	static char buf[4][512];
	static int k;
	const char *dir = getenv("CGOSHIM_TEST_EXAMPLES");
	char *b = buf[k++ % 4];
	snprintf(b, 512, "%s/%s", dir ? dir : "../../../examples", name);
	return b;
}

const char *jstr(json_t *obj, const char *key)
{
	return hjstr(obj, key);
}

long long jint(json_t *obj, const char *key)
{
	return hjint(obj, key);
}

bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int cgo_sites(json_t *report, const char *needle, long long *count, long long *bytes)
{
	json_t *sites = json_object_get(json_object_get(report, "leaks"), "sites");
	size_t i;
	json_t *s;
	int n = 0;
	*count = *bytes = 0;
	json_array_foreach(sites, i, s) {
		if (!strstr(jstr(s, "cgo"), needle))
			continue;
		*count += jint(s, "count");
		*bytes += jint(s, "bytes");
		n++;
	}
	return n;
}

json_t *site_sized(json_t *report, long long count, long long bytes)
{
	json_t *sites = json_object_get(json_object_get(report, "leaks"), "sites");
	size_t i;
	json_t *s;
	json_array_foreach(sites, i, s)
		if (jint(s, "count") == count && jint(s, "bytes") == bytes)
			return s;
	return NULL;
}

void print_site(const char *title, json_t *site)
{
	printf("%s: %lld allocations, %lld bytes, cgo %s\n", title, jint(site, "count"), jint(site, "bytes"),
	       json_is_string(json_object_get(site, "cgo")) ? jstr(site, "cgo") : "(null)");
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(site, "frames"), i, f) {
		json_t *file = json_object_get(f, "file");
		printf("    #%zu %s", i, json_is_string(json_object_get(f, "function")) ? jstr(f, "function") : "??");
		if (json_is_string(file))
			printf(" (%s:%lld)", json_string_value(file), jint(f, "line"));
		printf(" [%s]\n", jstr(f, "module"));
	}
	fflush(stdout);
}

void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts))
		;
}

bool wait_file(const char *path, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (access(path, F_OK) == 0)
			return true;
		msleep(10);
	}
	return access(path, F_OK) == 0;
}

const char *status_str(int status)
{
	static char buf[4][64];
	static int k;
	char *b = buf[k++ % 4];
	if (WIFEXITED(status))
		snprintf(b, 64, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(b, 64, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(b, 64, "wait status %#x", status);
	return b;
}

int go_main(int argc, char **argv, const char *suite, const struct go_case *cases, size_t n)
{
	go_require();
	Suite *s = suite_create(suite);
	size_t added = 0;
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
		added++;
	}
	if (!added) {
		fprintf(stderr, "%s: no case named %s\n", argv[0], argc > 1 ? argv[1] : "");
		return 2;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
