/* manyfiles.c - opens and reads once every regular file of a directory
 * (test_targets.c makes 5,000 of them: cache-NNNNN.tmp and
 * blob-<16 hex>.dat). Prints how many it read. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	DIR *d = opendir(argv[1]);
	if (!d)
		return 2;
	struct dirent *e;
	char path[4096], buf[64];
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return 3;
		if (read(fd, buf, sizeof(buf)) < 0)
			return 4;
		close(fd);
		n++;
	}
	closedir(d);
	printf("manyfiles: read %d files\n", n);
	return 0;
}
