/* live_dump.c - a busy program to be interrupted by dump signals.
 *
 * Usage: live_dump READY_FILE STOP_FILE. Four threads malloc, free and read
 * /dev/zero in a loop. The program creates READY_FILE when they run (the
 * test sends its signals once the file exists), then keeps going for at
 * least 1.5 s and until STOP_FILE exists (at most 30 s), so that a slow
 * machine cannot make a signal arrive after the end. The output and the
 * exit status (7) do not depend on timing, so runs with and without the
 * shim can be compared. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long errors;

static void *busy(void *arg)
{
	char buf[512];
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		void *p[16];
		for (int i = 0; i < 16; i++)
			p[i] = malloc(16 + (size_t)i * 40);
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			atomic_fetch_add(&errors, 1);
		for (int i = 0; i < 16; i++)
			free(p[i]);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, busy, NULL))
			return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 2;
	close(fd);
	struct timespec tick = { 0, 10000000 };
	for (int i = 0; i < 3000 && (i < 150 || access(argv[2], F_OK)); i++)
		nanosleep(&tick, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("live_dump: 4 threads done, %ld read errors\n", atomic_load(&errors));
	return 7;
}
