/* dl_plug.c - a plugin for dl_lookup: plug_value() names the build
 * (-DPLUG_VALUE). With -DPLUG_CTOR_LEAK its constructor allocates a block
 * of CGSDL_CTOR_BYTES that stays live: the shim captures that stack while
 * dlopen is in flight. */
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT const char *plug_value(void);

EXPORT const char *plug_value(void)
{
	return PLUG_VALUE;
}

#ifdef PLUG_CTOR_LEAK
#define CGSDL_CTOR_BYTES 12347
EXPORT void *plug_ctor_block;

__attribute__((constructor)) static void plug_ctor(void)
{
	plug_ctor_block = malloc(CGSDL_CTOR_BYTES);
	if (plug_ctor_block)
		memset(plug_ctor_block, 1, CGSDL_CTOR_BYTES);
}
#endif
