/* fakez.c - a program's own bundled "zlib": soname libz.so.1, installed in
 * the program's bundled/ folder and found through RUNPATH $ORIGIN/bundled.
 * Its zlibVersion says it is the bundled one. */
const char *zlibVersion(void);

__attribute__((visibility("default"))) const char *zlibVersion(void)
{
	return "bundled-9.9.9";
}
