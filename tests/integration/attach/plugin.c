/* plugin.c - loaded by phases.c's "plugin" command after cgoshim attach has
 * attached: its calls must be measured too (GOT entries of an object loaded
 * later). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void *volatile plugin_sink[100000];

__attribute__((visibility("default"))) int plugin_work(unsigned n);
int plugin_work(unsigned n)
{
	int fd = open("/dev/zero", O_RDONLY);
	char c;
	for (unsigned i = 0; i < n && i < 100000; i++) {
		if (read(fd, &c, 1) != 1)
			return -1;
		plugin_sink[i] = malloc(24);
	}
	close(fd);
	return (int)n;
}
