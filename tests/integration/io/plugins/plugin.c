/* plugin.c - libcgsio_plugin.so, found only through the $ORIGIN/plugins
 * search path of the loader libraries (see ../loader.c). */
#define EXPORT __attribute__((visibility("default")))

EXPORT const char *cgsio_plugin_hello(void);

EXPORT const char *cgsio_plugin_hello(void)
{
	return "hello from plugins/libcgsio_plugin.so";
}
