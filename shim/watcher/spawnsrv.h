/* spawnsrv.h - the watcher spawn server (spawnsrv.c, spawnproto.h). */
#ifndef CGOSHIM_SPAWNSRV_H
#define CGOSHIM_SPAWNSRV_H

/* Serve requests on listening socket fd in a thread of its own. 0, or -1
 * (fd closed: clients are refused and start their watchers themselves). */
int cgs_spawnsrv_start(int fd);

/* Watchers started that still run (reaps those that ended). */
int cgs_spawnsrv_children(void);

/* Of those, the ones whose process has ended (writing its final report). */
int cgs_spawnsrv_finishing(void);

#endif
