/* exitprog.c - leaks 50 blocks (6225 bytes), writes one line, then ends as
 * argv[1] says: "return" (from main, status 0), "exit" (exit(3)), "_exit"
 * (_exit(4)) or "_Exit" (_Exit(5)). Used by test_exit_report.sh: the final
 * report must be on disk when the shell sees the exit. No stdio (its buffer
 * would be one more block). "busy": a thread mallocs and frees without end
 * while main calls exit(6): calls after the report written at exit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *volatile sink[50];
void *volatile churn;

static void *spin(void *arg)
{
	(void)arg;
	for (;;) {
		churn = malloc(32);
		free(churn);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	for (int i = 0; i < 50; i++)
		sink[i] = malloc(100 + (size_t)i);
	const char *how = argc > 1 ? argv[1] : "return";
	if (write(1, "exitprog: leaked\n", 17) != 17)
		return 2;
	if (!strcmp(how, "exit"))
		exit(3);
	if (!strcmp(how, "busy")) {
		pthread_t t;
		if (pthread_create(&t, NULL, spin, NULL))
			return 2;
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
		exit(6);
	}
	if (!strcmp(how, "_exit"))
		_exit(4);
	if (!strcmp(how, "_Exit"))
		_Exit(5);
	return 0;
}
