/* suppress.h - leak suppressions in LeakSanitizer's format.
 *
 * A suppression file holds one rule a line: "leak:PATTERN". Blank lines and
 * lines starting with '#' are skipped; other lines are reported once and
 * ignored (LSan's other types, "interceptor_via_fun:" and the like, mean
 * nothing here). A pattern matches a site when it matches the function, the
 * module (object path) or the source file of any of its frames. As in LSan,
 * a pattern matches anywhere in the name unless it starts with '^' (then at
 * the start) or ends with '$' (then at the end); '*' matches any run of
 * characters. A built-in list (the loader's and the Go runtime's own
 * per-thread blocks) comes first, rule names prefixed "default:" in reports;
 * CGOSHIM_SUPPRESS_DEFAULTS=0 leaves it out. */
#ifndef CGOSHIM_SUPPRESS_H
#define CGOSHIM_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "symbols.h"

struct cgs_supp_rule {
	char *pattern;  /* without the "leak:" */
	bool builtin;
};

struct cgs_supp {
	struct cgs_supp_rule *rules;
	size_t n;
};

/* Rules from the built-in list (when defaults) and from the file at path
 * (NULL or "" for none). A file that cannot be read, and lines that are not
 * rules, get one line each on stderr; the rest is used. */
struct cgs_supp *cgs_supp_load(const char *path, bool defaults);
void cgs_supp_free(struct cgs_supp *s);
/* Parse one file's text into s (appending). Returns the number of lines
 * that were not rules; *first_bad gets the first one's line number. */
size_t cgs_supp_parse(struct cgs_supp *s, const char *text, size_t *first_bad);
/* Whether pattern matches name (LSan's rules above). */
bool cgs_supp_match(const char *pattern, const char *name);
/* The first rule matching any frame, or -1. */
int cgs_supp_find(const struct cgs_supp *s, const struct cgs_frame_info *frames, int nframes);

#endif
