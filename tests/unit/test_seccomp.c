/* test_seccomp.c - the shim's copy of the program's seccomp filters judges
 * its own system calls as the kernel would (core/seccomp.c; issue 13,
 * item 9). The filters are handed to cgs_seccomp_note as the prctl
 * interposer does, never installed in the kernel (the test process keeps
 * every system call).
 *
 * Cases: nothing is refused before a filter; an allowlist allows its calls
 * and refuses the rest; a filter that tests an argument (write to fd 1
 * only) is judged with the arguments; SECCOMP_RET_ERRNO, _LOG, _TRAP are
 * refusals; of two filters the stricter wins; a filter whose install
 * failed is dropped; an unreadable filter pointer makes every call refused;
 * the interpreter's arithmetic and memory instructions. */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "seccomp.h"

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG0 BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW_NR(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(SECCOMP_RET_ALLOW)

static int note(struct sock_filter *f, unsigned short n)
{
	struct sock_fprog p = { n, f };
	int t = cgs_seccomp_note(SECCOMP_MODE_FILTER, &p);
	cgs_seccomp_done(t, true);
	return t;
}

/* Every case runs in a fresh process (check's fork mode): the filters the
 * shim noted stay for the life of the process, as they do in the kernel. */

START_TEST(nothing_refused_before_a_filter)
{
	ck_assert(!cgs_seccomp_active());
	ck_assert(cgs_seccomp_allows0(SYS_gettid));
	ck_assert(cgs_seccomp_allows0(SYS_readlink));
	ck_assert(cgs_seccomp_unwind_ok());
}
END_TEST

START_TEST(allowlist)
{
	struct sock_filter f[] = {
		LD_ARCH, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0), RET(SECCOMP_RET_KILL_PROCESS),
		LD_NR, ALLOW_NR(SYS_read), ALLOW_NR(SYS_futex), ALLOW_NR(SYS_mmap),
		RET(SECCOMP_RET_KILL_PROCESS),
	};
	ck_assert_int_ge(note(f, sizeof(f) / sizeof(f[0])), 0);
	ck_assert(cgs_seccomp_active());
	ck_assert(cgs_seccomp_allows0(SYS_read));
	ck_assert(cgs_seccomp_allows0(SYS_futex));
	ck_assert(!cgs_seccomp_allows0(SYS_gettid));
	ck_assert(!cgs_seccomp_allows0(SYS_readlink));
	ck_assert(!cgs_seccomp_allows0(SYS_write));
	/* libunwind needs process_vm_readv, getpid, mincore...: not here. */
	ck_assert(!cgs_seccomp_unwind_ok());
}
END_TEST

START_TEST(argument_tested)
{
	/* write only to fd 1; everything else allowed. */
	struct sock_filter f[] = {
		LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 3),
		LD_ARG0, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 0), RET(SECCOMP_RET_ERRNO | EPERM),
		RET(SECCOMP_RET_ALLOW),
	};
	note(f, sizeof(f) / sizeof(f[0]));
	long to1[6] = { 1, 0, 10 }, to2[6] = { 2, 0, 10 };
	ck_assert(cgs_seccomp_allows(SYS_write, to1));
	ck_assert(!cgs_seccomp_allows(SYS_write, to2));
	ck_assert(cgs_seccomp_allows0(SYS_gettid));
	ck_assert(cgs_seccomp_unwind_ok());
}
END_TEST

START_TEST(other_actions_refuse)
{
	static const unsigned actions[] = { SECCOMP_RET_ERRNO | 1, SECCOMP_RET_LOG, SECCOMP_RET_TRAP,
					    SECCOMP_RET_TRACE, SECCOMP_RET_USER_NOTIF, SECCOMP_RET_KILL_THREAD };
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		/* times + i gets actions[i]; the rest is allowed. */
		struct sock_filter *f = calloc(4, sizeof(*f));
		f[0] = (struct sock_filter)LD_NR;
		f[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(SYS_times + (long)i), 0, 1);
		f[2] = (struct sock_filter)RET(actions[i]);
		f[3] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
		note(f, 4);
	}
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		ck_assert_msg(!cgs_seccomp_allows0(SYS_times + (long)i), "action %#x taken for an allow",
			      actions[i]);
	ck_assert(cgs_seccomp_allows0(SYS_read));
}
END_TEST

START_TEST(stricter_filter_wins_and_failed_install_dropped)
{
	struct sock_filter all[] = { RET(SECCOMP_RET_ALLOW) };
	struct sock_filter no_gettid[] = { LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_gettid, 0, 1),
					   RET(SECCOMP_RET_KILL_PROCESS), RET(SECCOMP_RET_ALLOW) };
	note(all, 1);
	ck_assert(cgs_seccomp_allows0(SYS_gettid));
	/* An install the kernel refused: no effect. */
	struct sock_fprog p = { 4, no_gettid };
	int t = cgs_seccomp_note(SECCOMP_MODE_FILTER, &p);
	cgs_seccomp_done(t, false);
	ck_assert(cgs_seccomp_allows0(SYS_gettid));
	note(no_gettid, 4);
	ck_assert(!cgs_seccomp_allows0(SYS_gettid));
	ck_assert(cgs_seccomp_allows0(SYS_read));
}
END_TEST

START_TEST(unreadable_filter_refuses_all)
{
	int t = cgs_seccomp_note(SECCOMP_MODE_FILTER, (const void *)8);
	cgs_seccomp_done(t, true); /* the kernel took something the shim could not read */
	ck_assert(!cgs_seccomp_allows0(SYS_read));
	ck_assert(!cgs_seccomp_unwind_ok());
}
END_TEST

START_TEST(strict_mode)
{
	int t = cgs_seccomp_note(SECCOMP_MODE_STRICT, NULL);
	cgs_seccomp_done(t, true);
	ck_assert(cgs_seccomp_allows0(SYS_read));
	ck_assert(cgs_seccomp_allows0(SYS_write));
	ck_assert(!cgs_seccomp_allows0(SYS_futex));
	ck_assert(!cgs_seccomp_allows0(SYS_exit_group));
}
END_TEST

START_TEST(arithmetic_and_memory)
{
	/* A = nr; M[0] = A; A = (A * 3 + 1) % 7 ... compared with the value
	 * computed here; X and M round trips; JGT/JGE/JSET. */
	long nr = SYS_gettid;
	unsigned want = (unsigned)(((nr * 3 + 1) % 7) << 2 | 1) ^ 0x10;
	struct sock_filter f[] = {
		LD_NR,
		BPF_STMT(BPF_ST, 0),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 3),
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
		BPF_STMT(BPF_LDX | BPF_IMM, 7),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),
		BPF_STMT(BPF_ALU | BPF_OR | BPF_K, 1),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, 0x10),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, want, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LDX | BPF_MEM, 0),       /* X = nr */
		BPF_STMT(BPF_MISC | BPF_TXA, 0),      /* A = nr */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)nr, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (unsigned)nr, 0, 1),
		RET(SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (unsigned)nr, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sizeof(struct seccomp_data), 0, 1),
		RET(SECCOMP_RET_ALLOW),
		RET(SECCOMP_RET_KILL_PROCESS),
	};
	note(f, sizeof(f) / sizeof(f[0]));
	ck_assert(cgs_seccomp_allows0(SYS_gettid));
	ck_assert(!cgs_seccomp_allows0(SYS_read)); /* the arithmetic differs for 0 */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("filters");
	tcase_add_test(tc, nothing_refused_before_a_filter);
	tcase_add_test(tc, allowlist);
	tcase_add_test(tc, argument_tested);
	tcase_add_test(tc, other_actions_refuse);
	tcase_add_test(tc, stricter_filter_wins_and_failed_install_dropped);
	tcase_add_test(tc, unreadable_filter_refuses_all);
	tcase_add_test(tc, strict_mode);
	tcase_add_test(tc, arithmetic_and_memory);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
