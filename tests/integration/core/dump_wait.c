/* dump_wait.c - ask for a report through the public API and wait for it.
 *
 * First thing in main, after leaking 3 blocks of 6161 bytes from
 * before_dump(), the program resolves cgoshim_dump_wait with
 * dlsym(RTLD_DEFAULT) (so it also runs without the shim), calls it with a
 * 5 s timeout and checks that the report file named by CGOSHIM_OUTPUT with
 * %p = its pid and %n = 1 exists as soon as the call returns. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *sink[3];

__attribute__((noinline)) static void before_dump(void)
{
	for (int i = 0; i < 3; i++)
		sink[i] = malloc(6161);
}

/* CGOSHIM_OUTPUT with %p, %n and %% expanded. */
static void expand(const char *tmpl, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 24 < cap; p++) {
		if (p[0] == '%' && p[1] == 'p')
			n += (size_t)snprintf(out + n, cap - n, "%d", (int)getpid()), p++;
		else if (p[0] == '%' && p[1] == 'n')
			out[n++] = '1', p++;
		else if (p[0] == '%' && p[1] == '%')
			out[n++] = '%', p++;
		else
			out[n++] = *p;
	}
	out[n] = 0;
}

int main(void)
{
	before_dump();
	int (*dump_wait)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "cgoshim_dump_wait");
	if (!dump_wait) {
		printf("dump_wait: no cgoshim\n");
		return 0;
	}
	int rc = dump_wait(5000);
	const char *tmpl = getenv("CGOSHIM_OUTPUT");
	char path[1024] = "";
	if (tmpl)
		expand(tmpl, path, sizeof(path));
	printf("dump_wait: returned %d\n", rc);
	printf("dump_wait: report present: %s\n", path[0] && access(path, R_OK) == 0 ? "yes" : "no");
	return 0;
}
