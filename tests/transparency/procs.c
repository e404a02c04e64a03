/* procs.c - small programs for test_procs.c: what a program can observe
 * of its processes, descriptors and address space. Each mode prints what
 * it saw; the test runs it with and without the shim and compares.
 *
 *   sigchld-handler      a fork child with the parent's SIGCHLD handler:
 *                        how often it ran in the child, and in the parent
 *   sigchld-blocked SELF SIGCHLD blocked: pending in the fork child
 *                        (sigpending, signalfd), then in an image it execs
 *   pending              (that image) SIGCHLD pending at the start of main
 *   waitall N            fork N children that exit, then
 *                        `while (wait(NULL) > 0)`: mine and not mine
 *   reaper N             the same as a child subreaper
 *   reaper-exec SELF N   become a subreaper, then exec `SELF waitall N`
 *   reaptree N M         a child subreaper (or PID 1) forks N children;
 *                        each forks M grandchildren and exits at once, so
 *                        they are adopted; each grandchild leaks a block
 *                        and exits 0.3 s later. Then
 *                        `while (wait(NULL) > 0)`: which of them it
 *                        reaped, and how many processes it never made;
 *                        with a 5th argument "raw", it ends with a raw
 *                        exit_group, as Go does; with "exec", the
 *                        grandchildren exec `procs leaf` (0.3 s, a leak)
 *   deny-socket PROG...  install a seccomp filter that kills the process on
 *                        socket, connect, bind, listen and sendmsg, then
 *                        exec PROG (the filter is inherited)
 *   init-check           (under an init such as the launcher as PID 1)
 *                        send SIGTERM to PID 1: does it reach us? Leave an
 *                        orphan that exits: is it reaped?
 *   daemon PIDFILE       fork a daemon (setsid, stdio on /dev/null,
 *                        sleeps 10 s) and exit at once
 *   nproc LIMIT          RLIMIT_NPROC = LIMIT (0: as it is), fork until
 *                        EAGAIN
 *   pipe2                a SIGALRM handler calls pipe2 3000 times while
 *                        the main thread mallocs: descriptors >= 1000?
 *   alloc MIB            malloc(MIB MiB)
 *   mlock                mlockall(MCL_CURRENT); is a cgoshim mapping
 *                        locked?
 *   limit RES VALUE PROG...   set RLIMIT_AS or RLIMIT_MEMLOCK, exec PROG
 *   asuser UID PRELOAD PROG...  switch user, LD_PRELOAD=PRELOAD ("-":
 *                        none), RLIMIT_NPROC=$PROCS_NPROC if set, exec PROG */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile sig_atomic_t chld_seen;
static void on_chld(int sig)
{
	(void)sig;
	chld_seen++;
}

static int sigchld_handler(void)
{
	signal(SIGCHLD, on_chld);
	pid_t p = fork();
	if (p == 0) {
		usleep(300000);
		printf("child: SIGCHLD handler ran %d times\n", (int)chld_seen);
		fflush(stdout);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	printf("parent: SIGCHLD handler ran %d times\n", (int)chld_seen);
	return 0;
}

static void say_pending(const char *who)
{
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigpending(&pend);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	struct pollfd p = { sfd, POLLIN, 0 };
	int readable = sfd >= 0 && poll(&p, 1, 0) == 1;
	printf("%s: SIGCHLD pending %s, signalfd readable %s\n", who, sigismember(&pend, SIGCHLD) ? "yes" : "no",
	       readable ? "yes" : "no");
	fflush(stdout);
	if (sfd >= 0)
		close(sfd);
}

static int sigchld_blocked(const char *self)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t p = fork();
	if (p == 0) {
		usleep(300000);
		say_pending("fork child");
		execl(self, self, "pending", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	printf("parent: child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

static int waitall(int n, bool reaper)
{
	if (reaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return 2;
	int reaper_now = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &reaper_now, 0, 0, 0);
	printf("pid 1: %s, subreaper: %s\n", getpid() == 1 ? "yes" : "no", reaper_now ? "yes" : "no");
	pid_t mine[64];
	for (int i = 0; i < n && i < 64; i++) {
		mine[i] = fork();
		if (mine[i] == 0) {
			usleep(100000);
			_exit(0);
		}
	}
	alarm(20); /* a wait that never ends: killed, the status says so */
	int own = 0, other = 0;
	pid_t w;
	while ((w = wait(NULL)) > 0) {
		bool found = false;
		for (int i = 0; i < n; i++)
			found = found || mine[i] == w;
		if (found)
			own++;
		else
			other++;
	}
	printf("reaped %d of mine, %d not mine; then %s\n", own, other, errno == ECHILD ? "ECHILD" : strerror(errno));
	return 0;
}

void *volatile procs_sink;

struct grandchild {
	int i, j;
	pid_t pid;
};

static int reaptree(const char *self, int n, int m, bool raw_exit, bool exec_leaf)
{
	if (n > 16 || m > 16 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return 2;
	printf("pid 1: %s\n", getpid() == 1 ? "yes" : "no");
	int p[2];
	if (pipe(p))
		return 2;
	pid_t kid[16];
	for (int i = 0; i < n; i++) {
		kid[i] = fork();
		if (kid[i] < 0)
			return 2;
		if (kid[i] == 0) {
			close(p[0]);
			for (int j = 0; j < m; j++)
				if (fork() == 0) {
					procs_sink = malloc(4242);
					struct grandchild g = { i, j, getpid() };
					if (write(p[1], &g, sizeof(g)) != sizeof(g))
						_exit(3);
					close(p[1]);
					if (exec_leaf)
						execl(self, self, "leaf", (char *)NULL);
					usleep(300000);
					_exit(0);
				}
			_exit(0);
		}
	}
	close(p[1]);
	pid_t gkid[16][16] = { { 0 } };
	struct grandchild g;
	while (read(p[0], &g, sizeof(g)) == sizeof(g))
		if (g.i >= 0 && g.i < n && g.j >= 0 && g.j < m)
			gkid[g.i][g.j] = g.pid;
	close(p[0]);
	alarm(20); /* a wait that never ends: killed, the status says so */
	bool kid_seen[16] = { false }, gkid_seen[16][16] = { { false } };
	int others = 0;
	pid_t w;
	while ((w = wait(NULL)) > 0) {
		bool known = false;
		for (int i = 0; i < n; i++) {
			if (kid[i] == w)
				known = kid_seen[i] = true;
			for (int j = 0; j < m; j++)
				if (gkid[i][j] == w)
					known = gkid_seen[i][j] = true;
		}
		others += !known;
	}
	int e = errno;
	for (int i = 0; i < n; i++) {
		printf("child %d: %s\n", i, kid_seen[i] ? "reaped, my own child" : "never reaped");
		for (int j = 0; j < m; j++)
			printf("grandchild %d.%d: %s\n", i, j,
			       !gkid[i][j] ? "never heard of" : gkid_seen[i][j] ? "reaped, adopted" : "never reaped");
	}
	printf("processes reaped that I never made: %d; then %s\n", others, e == ECHILD ? "ECHILD" : strerror(e));
	/* As Go ends: exit_group, nothing runs at exit. */
	if (raw_exit) {
		fflush(stdout);
		syscall(SYS_exit_group, 0);
	}
	return 0;
}

static int deny_socket(char **argv)
{
	static const int denied[] = { SYS_socket, SYS_connect, SYS_bind, SYS_listen, SYS_sendmsg };
	struct sock_filter f[16];
	int n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog fp = { (unsigned short)n, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0))
		return 2;
	execv(argv[0], argv);
	return 127;
}

static volatile sig_atomic_t term_seen;
static void on_term(int sig)
{
	(void)sig;
	term_seen = 1;
}

static int init_check(void)
{
	printf("pid 1: %s, parent: pid %d\n", getpid() == 1 ? "yes" : "no", (int)getppid());
	signal(SIGTERM, on_term);
	kill(1, SIGTERM);
	for (int i = 0; i < 200 && !term_seen; i++)
		usleep(10000);
	printf("SIGTERM sent to PID 1: %s\n", term_seen ? "received" : "not received");
	int p[2];
	if (pipe(p))
		return 2;
	pid_t c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			usleep(100000);
			_exit(0);
		}
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	pid_t g = 0;
	if (read(p[0], &g, sizeof(g)) != sizeof(g) || waitpid(c, NULL, 0) != c)
		return 2;
	char path[64], line[256] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)g);
	const char *state = "still running";
	for (int i = 0; i < 300; i++) {
		usleep(10000);
		FILE *f = fopen(path, "r");
		if (!f) {
			state = "reaped";
			break;
		}
		bool ok = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		char *paren = ok ? strrchr(line, ')') : NULL;
		if (paren && paren[1] == ' ' && paren[2] == 'Z')
			state = "a zombie";
	}
	printf("orphan: %s\n", state);
	return 0;
}

static int daemonize(const char *pidfile)
{
	pid_t p = fork();
	if (p < 0)
		return 1;
	if (p > 0) {
		printf("parent: done\n");
		return 0;
	}
	setsid();
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	FILE *f = fopen(pidfile, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	sleep(10);
	_exit(0);
}

static int nproc(long limit)
{
	struct rlimit rl = { (rlim_t)limit, (rlim_t)limit };
	if (limit && setrlimit(RLIMIT_NPROC, &rl))
		return 2;
	int gate[2];
	if (pipe(gate))
		return 2;
	int forked = 0, err = 0;
	for (int i = 0; i < 200; i++) {
		pid_t p = fork();
		if (p == 0) {
			char c;
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (p < 0) {
			err = errno;
			break;
		}
		forked++;
	}
	close(gate[1]);
	while (wait(NULL) > 0)
		;
	printf("forked %d children, then %s\n", forked, err == EAGAIN ? "EAGAIN" : strerror(err));
	return 0;
}

static volatile int high_fds, pipe_calls;
static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno, fds[2];
	if (pipe2(fds, O_CLOEXEC) == 0) {
		if (fds[0] >= 1000 || fds[1] >= 1000)
			high_fds++;
		close(fds[0]);
		close(fds[1]);
	}
	pipe_calls++;
	errno = saved;
}

void *volatile sink;

static int pipe2_mode(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	setitimer(ITIMER_REAL, &it, NULL);
	while (pipe_calls < 3000) {
		/* Sizes that reach the leak table's stack capture. */
		for (int i = 0; i < 64; i++) {
			void *p = malloc(32 + (size_t)i * 16);
			sink = p;
			free(p);
		}
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	printf("pipe2 in a signal handler: descriptors >= 1000 in %d calls\n", high_fds);
	return 0;
}

static int alloc(long mib)
{
	size_t n = (size_t)mib << 20;
	char *p = malloc(n);
	printf("malloc(%ld MiB): %s\n", mib, p ? "ok" : "failed");
	if (p) {
		p[0] = 1;
		p[n - 1] = 1;
	}
	sink = p;
	free(p);
	return 0;
}

static int mlock_mode(void)
{
	int rc = mlockall(MCL_CURRENT);
	printf("mlockall(MCL_CURRENT): %s\n", rc ? strerror(errno) : "ok");
	/* Locked pages in a mapping of the shim's region (a memfd named
	 * cgoshim): none without the shim, and none may be with it. */
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in_region = false;
	long locked = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') && !strncmp(line + strcspn(line, " ") + 1, "r", 1))
			in_region = strstr(line, "memfd:cgoshim") != NULL;
		long kb;
		if (in_region && sscanf(line, "Locked: %ld kB", &kb) == 1)
			locked += kb;
	}
	if (f)
		fclose(f);
	printf("shim region locked: %s\n", locked ? "yes" : "no");
	munlockall();
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "sigchld-handler"))
		return sigchld_handler();
	if (!strcmp(m, "sigchld-blocked") && argc > 2)
		return sigchld_blocked(argv[2]);
	if (!strcmp(m, "pending")) {
		say_pending("exec'd image");
		return 0;
	}
	if (!strcmp(m, "waitall") && argc > 2)
		return waitall(atoi(argv[2]), false);
	if (!strcmp(m, "reaper") && argc > 2)
		return waitall(atoi(argv[2]), true);
	if (!strcmp(m, "reaper-exec") && argc > 3) {
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		execl(argv[2], argv[2], "waitall", argv[3], (char *)NULL);
		return 127;
	}
	if (!strcmp(m, "reaptree") && argc > 3)
		return reaptree(argv[0], atoi(argv[2]), atoi(argv[3]), argc > 4 && !strcmp(argv[4], "raw"),
				argc > 4 && !strcmp(argv[4], "exec"));
	if (!strcmp(m, "leaf")) {
		procs_sink = malloc(4343);
		usleep(300000);
		return 0;
	}
	if (!strcmp(m, "deny-socket") && argc > 2)
		return deny_socket(argv + 2);
	if (!strcmp(m, "init-check"))
		return init_check();
	if (!strcmp(m, "daemon") && argc > 2)
		return daemonize(argv[2]);
	if (!strcmp(m, "nproc") && argc > 2)
		return nproc(atol(argv[2]));
	if (!strcmp(m, "pipe2"))
		return pipe2_mode();
	if (!strcmp(m, "alloc") && argc > 2)
		return alloc(atol(argv[2]));
	if (!strcmp(m, "mlock"))
		return mlock_mode();
	if (!strcmp(m, "limit") && argc > 4) {
		int res = !strcmp(argv[2], "AS") ? RLIMIT_AS : RLIMIT_MEMLOCK;
		struct rlimit rl = { (rlim_t)atoll(argv[3]), (rlim_t)atoll(argv[3]) };
		if (setrlimit(res, &rl))
			return 2;
		execv(argv[4], argv + 4);
		return 127;
	}
	if (!strcmp(m, "asuser") && argc > 4) {
		uid_t uid = (uid_t)atol(argv[2]);
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			return 77;
		/* PROCS_NPROC: RLIMIT_NPROC from the start, as `ulimit -u` */
		const char *np = getenv("PROCS_NPROC");
		struct rlimit rl = { np ? (rlim_t)atol(np) : 0, np ? (rlim_t)atol(np) : 0 };
		if (np && setrlimit(RLIMIT_NPROC, &rl))
			return 2;
		if (strcmp(argv[3], "-"))
			setenv("LD_PRELOAD", argv[3], 1);
		else
			unsetenv("LD_PRELOAD");
		execv(argv[4], argv + 4);
		return 127;
	}
	fprintf(stderr, "procs: unknown mode\n");
	return 2;
}
