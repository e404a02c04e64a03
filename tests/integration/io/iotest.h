/* iotest.h - helpers shared by the io integration tests (test_*.c here):
 * running tools (nm, readelf, strace) and reading the report's targets.
 * Built into each test program with the harness (tests/lib/harness.h). */
#ifndef CGOSHIM_IOTEST_H
#define CGOSHIM_IOTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Run argv (argv[0] searched in PATH), wait; its stdout (and stderr when
 * with_stderr) as a NUL-terminated string, *status the wait status. NULL
 * when it could not be started. */
char *io_capture(const char *const argv[], bool with_stderr, int *status);

/* Whether an executable named prog is in PATH. */
bool io_have(const char *prog);

/* Dynamic symbol names of an ELF file from `nm -D OPTION FILE` (OPTION e.g.
 * "--undefined-only", or NULL), version suffixes removed. NULL-terminated
 * array; free with io_strv_free. NULL when nm failed. */
char **io_nm(const char *file, const char *option);
bool io_strv_has(char *const *v, const char *s);
size_t io_strv_len(char *const *v);
void io_strv_free(char **v);

/* The report's targets entry of kind ("read", "ioctl", "open") and target,
 * or NULL; its count, 0 when absent. */
json_t *io_target(json_t *report, const char *kind, const char *target);
long long io_tcount(json_t *report, const char *kind, const char *target);
/* Sum of the counts of every target of a kind. */
long long io_tcount_kind(json_t *report, const char *kind);
/* An integer member of a JSON object, -1 when absent. */
long long io_int(json_t *obj, const char *key);
/* Calls of fn in the report's calls table, timed or not (count + not_timed),
 * and of those the ones not timed; 0 when there is no row. */
long long io_calls(json_t *report, const char *fn);
long long io_untimed(json_t *report, const char *fn);

/* A fresh directory under /tmp; removed (with its files, one level) by
 * io_rmdir, or at exit if a failed assertion ended the test first. */
char *io_mkdtemp(void);
void io_rmdir(char *dir);
/* Create dir/name holding text. 0 on success. */
int io_write_file(const char *dir, const char *name, const char *text);

/* The lines where two texts differ (the first few), for failure messages.
 * Points to a static buffer. */
const char *io_diff(const char *a, const char *b);

#endif
