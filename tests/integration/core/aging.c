/* aging.c - leaks of two ages, for CGOSHIM_MIN_AGE and the sites' age range.
 *
 * old_block() leaks 3 blocks of 7001 bytes at start; then the program
 * sleeps 600 ms; new_block() leaks 2 blocks of 7002 bytes just before it
 * exits. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *old_block(void);
void *new_block(void);

__attribute__((noinline)) void *old_block(void)
{
	return malloc(7001);
}

__attribute__((noinline)) void *new_block(void)
{
	return malloc(7002);
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		if (!old_block())
			return 1;
	usleep(600 * 1000);
	for (int i = 0; i < 2; i++)
		if (!new_block())
			return 1;
	return 0;
}
