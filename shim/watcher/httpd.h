/* httpd.h - live numbers over HTTP from the watcher (CGOSHIM_LISTEN). */
#ifndef CGOSHIM_HTTPD_H
#define CGOSHIM_HTTPD_H

#include <stddef.h>

/* Render the process's state now in a report format (enum cgs_format):
 * 0 and a malloc'd buffer, or -1. Called from the server's threads. */
typedef int (*cgs_render_fn)(void *ctx, int format, char **buf, size_t *len);

/* Serve GET /metrics, /debug/cgoshim/heap and /debug/cgoshim/report.json
 * on listen (CGOSHIM_LISTEN's syntax) from threads of the calling process.
 * 0, or -1 after one line on stderr. */
int cgs_httpd_start(const char *listen, cgs_render_fn render, void *ctx);

/* The port actually bound (after cgs_httpd_start), 0 when none. */
unsigned cgs_httpd_port(void);

#endif
