/* log.c - one-line diagnostics that are async-signal-safe. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "log.h"
#include "seccomp.h"

char *cgs_u64_str(uint64_t v, char *buf)
{
	char tmp[21];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return buf;
}

void cgs_log(const char *s, ...)
{
	int saved = errno;
	char buf[512];
	size_t len = 0;
	const char *prefix = "cgoshim: ";
	va_list ap;

	for (const char *p = prefix; *p && len < sizeof(buf) - 1; p++)
		buf[len++] = *p;
	va_start(ap, s);
	for (const char *part = s; part; part = va_arg(ap, const char *))
		for (const char *p = part; *p && len < sizeof(buf) - 1; p++)
			buf[len++] = *p;
	va_end(ap);
	buf[len++] = '\n';
	/* A raw syscall: write() may be wrapped by sanitizers or the program. */
	long a[6] = { 2, (long)buf, (long)len, 0, 0, 0 };
	if (cgs_seccomp_allows(SYS_write, a))
		(void)syscall(SYS_write, 2, buf, len);
	errno = saved;
}
