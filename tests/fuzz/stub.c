/* stub.c - the one symbol of init.c that the shim's other internals call,
 * for programs built from the internals without the interposers and the
 * start-up code (the fuzz targets and the sanitizer builds' unit tests:
 * see meson.build). Turning the shim off is nothing to do there. */
void cgs_turn_off(void);

void cgs_turn_off(void)
{
}

/* spawn.c's, for fork.c: never spawning here. */
#include <stdbool.h>
bool cgs_watcher_spawning(void);
bool cgs_nproc_tight(void);
bool cgs_nproc_tight(void)
{
	return false;
}

bool cgs_watcher_spawning(void)
{
	return false;
}

struct cgs_region;
int cgs_watcher_spawn(struct cgs_region *r);

int cgs_watcher_spawn(struct cgs_region *r)
{
	(void)r;
	return -1;
}
