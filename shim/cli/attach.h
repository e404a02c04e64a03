/* attach.h - `cgoshim attach` (attach.c), called by the launcher's main
 * once the options are parsed (they are in the environment as CGOSHIM_*). */
#ifndef CGOSHIM_CLI_ATTACH_H
#define CGOSHIM_CLI_ATTACH_H

#include <sys/types.h>

enum {
	CGS_ATTACH_OK = 0,
	CGS_ATTACH_REFUSED = 1,  /* the process was not touched (one line on stderr) */
	CGS_ATTACH_FAILED = 125, /* an injected step failed (one line on stderr) */
};

/* Measure process pid with the library lib (an absolute path) and the
 * settings env ("CGOSHIM_X=v", NULL-terminated) for duration_s seconds (0:
 * until the process ends or SIGINT/SIGTERM). */
int cgs_attach_run(pid_t pid, const char *lib, char **env, double duration_s);

#endif
