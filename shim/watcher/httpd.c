/* httpd.c - the watcher's HTTP endpoints, for Prometheus and pprof.
 *
 *	GET /metrics                  Prometheus text format (CGOSHIM_FORMAT=openmetrics)
 *	GET /debug/cgoshim/heap       the live C heap as a gzipped pprof profile
 *	GET /debug/cgoshim/report.json  the JSON report
 *
 * Runs in the watcher process, never in the program's threads: a scrape
 * costs the program nothing but the reading of its shared region. Safety:
 * the address is loopback unless CGOSHIM_LISTEN names another one; only
 * GET of these paths is answered (405 for another method, 404 for another
 * path); a request must arrive whole, at most 8 KiB, within 5 s, and its
 * answer be taken within 5 s, or the connection is closed; at most 8
 * connections are served at once (others get 503 and are closed), each in
 * its own thread, so a slow client cannot hold up the others, the watcher's
 * reports or the program. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "httpd.h"
#include "log.h"
#include "options.h"

#define MAX_REQUEST 8192
#define DEADLINE_MS 5000
#define MAX_CONNS 8

static int srv_fd = -1;
static unsigned srv_port;
static cgs_render_fn srv_render;
static void *srv_ctx;
static int active;

unsigned cgs_httpd_port(void)
{
	return srv_port;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd (events) until the deadline; false on timeout or error. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { fd, events, 0 };
		int k = poll(&p, 1, (int)left);
		if (k > 0)
			return !(p.revents & (POLLERR | POLLNVAL)) || (p.revents & events);
		if (k < 0 && errno != EINTR)
			return false;
	}
}

static bool send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		if (!wait_fd(fd, POLLOUT, deadline))
			return false;
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void respond(int fd, int code, const char *reason, const char *type, const char *body, size_t len,
		    const char *extra, int64_t deadline)
{
	char head[512];
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
			 "Cache-Control: no-store\r\n%s\r\n",
			 code, reason, type, len, extra ? extra : "");
	if (send_all(fd, head, (size_t)h, deadline) && len)
		send_all(fd, body, len, deadline);
}

static void error_page(int fd, int code, const char *reason, const char *extra, int64_t deadline)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%d %s\n", code, reason);
	respond(fd, code, reason, "text/plain; charset=utf-8", body, (size_t)n, extra, deadline);
}

static const struct {
	const char *path, *type;
	int format;
} routes[] = {
	{ "/metrics", "text/plain; version=0.0.4; charset=utf-8", CGS_FMT_OPENMETRICS },
	{ "/debug/cgoshim/heap", "application/octet-stream", CGS_FMT_PPROF },
	{ "/debug/cgoshim/report.json", "application/json", CGS_FMT_JSON },
};

static void serve(int fd)
{
	int64_t deadline = mono_ms() + DEADLINE_MS;
	char req[MAX_REQUEST + 1];
	size_t n = 0;
	/* The whole head (up to the empty line), within the size and time. */
	while (!memmem(req, n, "\r\n\r\n", 4) && !memmem(req, n, "\n\n", 2)) {
		if (n == MAX_REQUEST) {
			error_page(fd, 431, "Request Header Fields Too Large", NULL, deadline);
			return;
		}
		if (!wait_fd(fd, POLLIN, deadline))
			return; /* too slow: dropped without a word */
		ssize_t k = recv(fd, req + n, MAX_REQUEST - n, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			return;
		n += (size_t)k;
	}
	req[n] = 0;
	char method[16], target[1024], version[16];
	if (sscanf(req, "%15s %1023s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7)) {
		error_page(fd, 400, "Bad Request", NULL, deadline);
		return;
	}
	if (strcmp(method, "GET")) {
		error_page(fd, 405, "Method Not Allowed", "Allow: GET\r\n", deadline);
		return;
	}
	char *q = strchr(target, '?');
	if (q)
		*q = 0; /* pprof adds ?seconds=N to some paths: not used here */
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(target, routes[i].path))
			continue;
		char *body = NULL;
		size_t len = 0;
		if (srv_render(srv_ctx, routes[i].format, &body, &len)) {
			error_page(fd, 500, "Internal Server Error", NULL, deadline);
		} else {
			respond(fd, 200, "OK", routes[i].type, body, len, NULL, deadline);
		}
		free(body);
		return;
	}
	error_page(fd, 404, "Not Found", NULL, deadline);
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	serve(fd);
	/* A lingering close: stop sending, then read what the client still
	 * sends (1 s, 1 MiB at most), so that closing with unread data does
	 * not reset the connection before the client reads the answer. */
	shutdown(fd, SHUT_WR);
	int64_t deadline = mono_ms() + 1000;
	char sink[4096];
	for (size_t got = 0; got < (1u << 20) && wait_fd(fd, POLLIN, deadline);) {
		ssize_t k = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	__atomic_sub_fetch(&active, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	for (;;) {
		int c = accept4(srv_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				struct timespec ts = { 0, 50000000 };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		if (__atomic_add_fetch(&active, 1, __ATOMIC_RELAXED) > MAX_CONNS) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
						   "Connection: close\r\n\r\n";
			ssize_t k = send(c, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)k;
			close(c);
			__atomic_sub_fetch(&active, 1, __ATOMIC_RELAXED);
			continue;
		}
		pthread_t th;
		if (pthread_create(&th, &at, conn_main, (void *)(intptr_t)c)) {
			close(c);
			__atomic_sub_fetch(&active, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int cgs_httpd_start(const char *listen_on, cgs_render_fn render, void *ctx)
{
	int family;
	unsigned char addr[16];
	unsigned port;
	if (cgs_parse_listen(listen_on, &family, addr, &port))
		return -1; /* the options parser said so already */
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		memcpy(&a->sin6_addr, addr, 16);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		memcpy(&a->sin_addr, addr, 4);
		sl = sizeof(*a);
	}
	int fd = socket(family == AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 16)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "cannot serve HTTP on %s (CGOSHIM_LISTEN): %s; no live endpoint",
			 listen_on, strerror(errno));
		cgs_log(msg, (const char *)NULL);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	if (!getsockname(fd, (struct sockaddr *)&got, &gl))
		srv_port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
						   : ((struct sockaddr_in *)&got)->sin_port);
	srv_fd = fd;
	srv_render = render;
	srv_ctx = ctx;
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &at, accept_main, NULL);
	pthread_attr_destroy(&at);
	return rc ? -1 : 0;
}
