//go:build ignore

/* plugin.c - the C plugin that examples/plugin's host loads with dlopen.
 *
 * Two exported functions the host looks up by name. Built by meson as
 * libdemoplugin.so next to the host program. The build constraint on the
 * first line keeps `go build` from compiling this file into the host itself
 * (cgo compiles every .c file of a package's folder). */

/* Exported explicitly: the project compiles with -fvisibility=hidden. */
#define PLUGIN_API __attribute__((visibility("default")))

PLUGIN_API int plugin_score(int x);
PLUGIN_API const char *plugin_name(void);

/* A cheap scoring function, so that the lookup dominates each call. */
int plugin_score(int x)
{
	return (x * 31 + 7) & 0xffff;
}

const char *plugin_name(void)
{
	return "demo-plugin 1.0";
}
