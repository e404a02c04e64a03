/* demo.c - the quick demo: a small C program that does a little of every
 * kind of call cgoshim measures.
 *
 * It reads /dev/urandom in small pieces, opens and reads a few files, asks
 * a pipe how many bytes are waiting (one ioctl), and leaks some memory on
 * purpose from two places, so that the report has calls, targets and leak
 * sites to show. Run it as the README in this folder says. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

/* Leak n names of the form "item-K": the caller loses the array. */
static char **make_names(int n)
{
	char **v = malloc((size_t)n * sizeof(*v));
	if (!v)
		return NULL;
	for (int i = 0; i < n; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "item-%d", i);
		v[i] = strdup(buf);
	}
	return v;
}

static size_t slurp(const char *path)
{
	char buf[512];
	size_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)k;
	close(fd);
	return total;
}

int main(void)
{
	unsigned char seed[16];
	unsigned long mix = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("demo: /dev/urandom");
		return 1;
	}
	for (int i = 0; i < 100; i++) {
		if (read(fd, seed, sizeof(seed)) != (ssize_t)sizeof(seed)) {
			perror("demo: read");
			return 1;
		}
		mix = mix * 31 + seed[0];
	}
	close(fd);

	size_t bytes = slurp("/etc/hostname") + slurp("/etc/os-release") + slurp("/proc/self/status");

	int p[2], waiting = 0;
	if (pipe(p) == 0) {
		if (write(p[1], "hello", 5) == 5 && ioctl(p[0], FIONREAD, &waiting) < 0)
			waiting = -1;
		close(p[0]);
		close(p[1]);
	}

	char **names = make_names(10); /* leaked: 10 strings and the array */
	for (int i = 0; i < 5; i++) {
		char *scratch = malloc(1000); /* freed */
		memset(scratch, i, 1000);
		free(scratch);
	}
	void *lost = calloc(4, 1024); /* leaked */

	printf("demo: read %zu bytes of files, %d bytes waiting in the pipe, first name %s (%lx %p)\n",
	       bytes, waiting, names ? names[0] : "?", mix & 0xff, lost);
	return 0;
}
