/* log.h - messages to stderr that never allocate and never change errno.
 * Safe in a signal handler and inside an interposed call. */
#ifndef CGOSHIM_LOG_H
#define CGOSHIM_LOG_H

#include "common.h"

/* Write "cgoshim: " followed by the NULL-terminated list of strings and a
 * newline to fd 2, in one write(2). */
void cgs_log(const char *s, ...) __attribute__((sentinel));

/* Decimal text of v into buf (at least 21 bytes); returns buf. */
char *cgs_u64_str(uint64_t v, char *buf);

#endif
