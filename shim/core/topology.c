/* topology.c - the CPU to NUMA node map and the current CPU; see topology.h.
 *
 * The map is a byte per CPU giving its ring index, so choosing a ring on the
 * write path is two loads: the CPU number from glibc's rseq area, then this
 * table. Both the kernel's lists and the override are parsed by hand with
 * raw system calls (no malloc, no stdio): this runs inside the first
 * interposed call. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "log.h"
#include "topology.h"

int cgs_getcpu_slow(void)
{
	int saved = errno;
	int cpu = sched_getcpu();
	errno = saved;
	return cpu;
}

/* ---- parsing ----------------------------------------------------------- */

/* Decimal at s[*i], at most max; advances *i. -1 when there is none. */
static long number(const char *s, size_t len, size_t *i, long max)
{
	long v = 0;
	size_t start = *i;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (s[*i] - '0');
		if (v > max)
			return -1;
		(*i)++;
	}
	return *i > start ? v : -1;
}

int cgs_cpulist_parse(const char *s, size_t len, void (*fn)(void *arg, unsigned lo, unsigned hi), void *arg)
{
	size_t i = 0;
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	if (!len)
		return 0; /* an empty list: a node without CPUs */
	for (;;) {
		long lo = number(s, len, &i, 1L << 20), hi = lo;
		if (lo < 0)
			return -1;
		if (i < len && s[i] == '-') {
			i++;
			hi = number(s, len, &i, 1L << 20);
			if (hi < lo)
				return -1;
		}
		/* "0-31:2" stride form of some kernels' lists: take every CPU. */
		if (i < len && s[i] == ':') {
			i++;
			if (number(s, len, &i, 1L << 20) < 0)
				return -1;
			if (i < len && s[i] == '/') {
				i++;
				if (number(s, len, &i, 1L << 20) < 0)
					return -1;
			}
		}
		fn(arg, (unsigned)lo, (unsigned)hi);
		if (i == len)
			return 0;
		if (s[i] != ',')
			return -1;
		i++;
	}
}

/* Walk an override spec; item(arg, lo, hi, node) per item. */
static int walk_override(const char *spec, void (*item)(void *, unsigned, unsigned, unsigned), void *arg)
{
	size_t len = strlen(spec), i = 0;
	if (!len)
		return -1;
	for (;;) {
		long lo = number(spec, len, &i, CGS_CPUS_MAX - 1), hi = lo;
		if (lo < 0)
			return -1;
		if (i < len && spec[i] == '-') {
			i++;
			hi = number(spec, len, &i, CGS_CPUS_MAX - 1);
			if (hi < lo)
				return -1;
		}
		if (i >= len || spec[i] != ':')
			return -1;
		i++;
		long node = number(spec, len, &i, CGS_NODE_ID_MAX);
		if (node < 0)
			return -1;
		if (item)
			item(arg, (unsigned)lo, (unsigned)hi, (unsigned)node);
		if (i == len)
			return 0;
		if (spec[i] != ',')
			return -1;
		i++;
	}
}

struct nodeset {
	uint64_t bits[(CGS_NODE_ID_MAX + 64) / 64];
};

static void note_node(void *arg, unsigned lo, unsigned hi, unsigned node)
{
	struct nodeset *ns = arg;
	ns->bits[node / 64] |= 1ULL << (node % 64);
}

/* Ring indexes for the nodes of ns, ascending; the rest are dropped. */
static void assign_rings(struct cgs_topology *t, const struct nodeset *ns)
{
	t->nrings = 0;
	for (unsigned n = 0; n <= CGS_NODE_ID_MAX; n++) {
		if (!(ns->bits[n / 64] & (1ULL << (n % 64))))
			continue;
		if (t->nrings < CGS_NODES_MAX)
			t->node[t->nrings++] = (int16_t)n;
		else
			t->dropped_nodes++;
	}
}

static unsigned ring_of_node(const struct cgs_topology *t, unsigned node)
{
	for (unsigned i = 0; i < t->nrings; i++)
		if ((unsigned)t->node[i] == node)
			return i;
	return 0; /* a dropped node */
}

struct fill {
	struct cgs_topology *t;
	unsigned ring;
};

static void set_cpus(void *arg, unsigned lo, unsigned hi)
{
	struct fill *f = arg;
	for (unsigned c = lo; c <= hi && c < CGS_CPUS_MAX; c++)
		f->t->ring_of_cpu[c] = (uint8_t)f->ring;
}

static void set_item(void *arg, unsigned lo, unsigned hi, unsigned node)
{
	struct cgs_topology *t = arg;
	struct fill f = { t, ring_of_node(t, node) };
	set_cpus(&f, lo, hi);
}

static void reset(struct cgs_topology *t, uint32_t source)
{
	memset(t, 0, sizeof(*t));
	memset(t->ring_of_cpu, CGS_CPU_NONE, sizeof(t->ring_of_cpu));
	t->source = source;
}

int cgs_topology_parse(const char *spec, struct cgs_topology *t)
{
	struct nodeset ns;
	memset(&ns, 0, sizeof(ns));
	if (walk_override(spec, note_node, &ns))
		return -1;
	if (!t)
		return 0;
	reset(t, CGS_TOPO_OVERRIDE);
	assign_rings(t, &ns);
	walk_override(spec, set_item, t);
	return 0;
}

/* ---- sysfs ------------------------------------------------------------- */

static long read_small(const char *path, char *buf, size_t cap)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, cap - 1);
	syscall(SYS_close, fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

static void note_range(void *arg, unsigned lo, unsigned hi)
{
	struct nodeset *ns = arg;
	for (unsigned n = lo; n <= hi && n <= CGS_NODE_ID_MAX; n++)
		ns->bits[n / 64] |= 1ULL << (n % 64);
}

static int load_sysfs(struct cgs_topology *t)
{
	static const char base[] = "/sys/devices/system/node/";
	char buf[4096];
	struct nodeset ns;
	long n;

	memset(&ns, 0, sizeof(ns));
	n = read_small("/sys/devices/system/node/has_cpu", buf, sizeof(buf));
	if (n <= 0)
		n = read_small("/sys/devices/system/node/online", buf, sizeof(buf));
	if (n <= 0 || cgs_cpulist_parse(buf, (size_t)n, note_range, &ns))
		return -1;
	reset(t, CGS_TOPO_SYSFS);
	assign_rings(t, &ns);
	if (!t->nrings)
		return -1;
	for (unsigned i = 0; i < t->nrings; i++) {
		char path[96], num[21];
		strcpy(path, base);
		strcat(path, "node");
		strcat(path, cgs_u64_str((uint64_t)t->node[i], num));
		strcat(path, "/cpulist");
		n = read_small(path, buf, sizeof(buf));
		struct fill f = { t, i };
		if (n < 0 || cgs_cpulist_parse(buf, (size_t)n, set_cpus, &f))
			return -1;
	}
	return 0;
}

void cgs_topology_load(struct cgs_topology *t, const char *override)
{
	if (override && *override && !cgs_topology_parse(override, t))
		return;
	if (!load_sysfs(t))
		return;
	reset(t, CGS_TOPO_SINGLE);
	t->nrings = 1;
	t->node[0] = 0;
}
