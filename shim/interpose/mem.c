/* mem.c - mlockall: the program's memory, not the shim's.
 *
 * mlockall(MCL_CURRENT) locks every mapping of the process, the shim's
 * region too: as root that would make its pages resident and pin them.
 * After the program's call succeeds, the region is unlocked again, so
 * the program locks what it would lock without the shim (its own
 * mappings and the libraries, libcgoshim.so's code among them). The
 * region's growth (an in-place mremap of an unlocked mapping) stays
 * unlocked under MCL_FUTURE.
 *
 * mlockall is a bare system call in glibc; it is made here as one (no
 * real-function lookup needed). errno and the return value are the
 * kernel's. */
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "shim.h"

CGS_EXPORT int mlockall(int flags)
{
	long rc = syscall(SYS_mlockall, flags);
	struct cgs_region *r = cgs_R;
	if (rc == 0 && r && (flags & MCL_CURRENT)) {
		int saved = errno;
		syscall(SYS_munlock, r, __atomic_load_n(&r->mapped, __ATOMIC_ACQUIRE));
		errno = saved;
	}
	return (int)rc;
}
