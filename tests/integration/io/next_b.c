/* next_b.c - libcgsio_nextb.so, the second library that defines foo (see
 * next_a.c). Its symbols carry the version node CGSIO_B_1 (next_b.map) so
 * that dlvsym can ask for it. */
#define EXPORT __attribute__((visibility("default")))

EXPORT const char *foo(void);
EXPORT const char *nextb_name(void);

EXPORT const char *foo(void)
{
	return "B";
}

EXPORT const char *nextb_name(void)
{
	return "libcgsio_nextb";
}
