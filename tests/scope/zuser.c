/* zuser.c - a plugin that needs libz.so.1 and finds it through its own
 * RUNPATH ($ORIGIN/bundled): it must get the bundled copy. */
const char *zlibVersion(void);
const char *zuser_version(void);

__attribute__((visibility("default"))) const char *zuser_version(void)
{
	return zlibVersion();
}
