/* bad_cfi.c - an allocation from a frame whose unwind information is wrong:
 * inside bogus(), .eh_frame puts the caller's frame 64 MiB above rbp, where
 * nothing is mapped. The stack walk must end there, not fault (test_core_
 * unwind "bad-cfi"); the block (77 bytes) is still reported. */
#include <stdio.h>
#include <stdlib.h>

void *volatile sink;

__attribute__((noinline)) void bogus(void)
{
	__asm__ volatile(".cfi_def_cfa_offset 0x4000000");
	sink = malloc(77);
	__asm__ volatile(".cfi_def_cfa_offset 16");
}

int main(void)
{
	bogus();
	puts(sink ? "done" : "no memory");
	return 0;
}
