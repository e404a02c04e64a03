/* asuser.c - run a program as another user, preloading the shim only there.
 *
 * Usage: asuser UID PRELOAD PROG ARGS... (PRELOAD "-" for none). Needs root.
 * Drops groups, gid and uid to UID, sets LD_PRELOAD (so this wrapper itself
 * is never measured) and execs PROG. Exit 77 when it cannot switch user. */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	uid_t uid = (uid_t)atol(argv[1]);
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
		perror("asuser: cannot switch user");
		return 77;
	}
	if (strcmp(argv[2], "-"))
		setenv("LD_PRELOAD", argv[2], 1);
	execv(argv[3], argv + 3);
	perror("asuser: exec");
	return 127;
}
