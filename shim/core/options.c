/* options.c - parse CGOSHIM_* variables without allocating.
 *
 * The environment is scanned once by hand (getenv is fine too, but scanning
 * lets the caller pass the environment it has, and lets tests pass their
 * own). Unknown CGOSHIM_ names are reported, so a typo does not go unseen. */
#include <signal.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "ring.h"

#define DEFAULT_MEMORY (8ULL << 30)
#define MIN_MEMORY (16ULL << 20)
#define MAX_MEMORY (1ULL << 40)
#define DEFAULT_SLOW_NS 1000000ULL /* 1 ms: see README, "Options" */
#define DEFAULT_EXIT_WAIT_NS 10000000000ULL /* 10 s */
#define MAX_EXIT_WAIT_NS 3600000000000ULL  /* 1 h */

int cgs_parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

int cgs_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Number followed by a unit from the table; mul[i] scales unit[i]. */
static int parse_scaled(const char *s, const char *const *unit, const uint64_t *mul,
			size_t n, uint64_t plain_mul, uint64_t *out)
{
	char num[32];
	size_t i = 0;
	while (s[i] >= '0' && s[i] <= '9' && i < sizeof(num) - 1) {
		num[i] = s[i];
		i++;
	}
	if (i == 0 || i >= sizeof(num) - 1)
		return -1;
	num[i] = 0;
	uint64_t v;
	if (cgs_parse_u64(num, &v))
		return -1;
	uint64_t m = 0;
	if (!s[i])
		m = plain_mul;
	for (size_t k = 0; !m && k < n; k++)
		if (!strcmp(s + i, unit[k]))
			m = mul[k];
	if (!m || (v && v > UINT64_MAX / m))
		return -1;
	*out = v * m;
	return 0;
}

int cgs_parse_size(const char *s, uint64_t *out)
{
	static const char *const unit[] = { "K", "KiB", "M", "MiB", "G", "GiB", "T", "TiB", "k" };
	static const uint64_t mul[] = { 1ULL << 10, 1ULL << 10, 1ULL << 20, 1ULL << 20, 1ULL << 30,
					1ULL << 30, 1ULL << 40, 1ULL << 40, 1ULL << 10 };
	return parse_scaled(s, unit, mul, CGS_ARRAY_LEN(unit), 1, out);
}

static int parse_port(const char *s, unsigned *port)
{
	uint64_t u;
	if (cgs_parse_u64(s, &u) || u < 1 || u > 65535)
		return -1;
	*port = (unsigned)u;
	return 0;
}

/* Dotted quad, by hand (no inet_pton: it may use the locale). */
static int parse_ipv4(const char *s, size_t n, unsigned char out[4])
{
	int part = 0;
	unsigned v = 0, digits = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!digits || v > 255 || part > 3)
				return -1;
			out[part++] = (unsigned char)v;
			v = digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
		} else {
			return -1;
		}
	}
	return part == 4 ? 0 : -1;
}

/* IPv6 with an optional "::", hex groups only (no embedded IPv4). */
static int parse_ipv6(const char *s, size_t n, unsigned char out[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < n) {
		unsigned v = 0, digits = 0;
		while (i < n && digits < 5) {
			char c = s[i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				break;
			v = v * 16 + (unsigned)d;
			digits++;
			i++;
		}
		if (!digits || digits > 4 || ng == 8)
			return -1;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return -1;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return -1;
			gap = ng;
			i++;
		} else if (i == n) {
			return -1;
		}
	}
	if ((gap < 0 && ng != 8) || (gap >= 0 && ng > 7))
		return -1;
	memset(out, 0, 16);
	int fill = gap < 0 ? 0 : 8 - ng;
	for (int k = 0, o = 0; k < ng; k++, o++) {
		if (k == gap)
			o += fill;
		out[2 * o] = (unsigned char)(g[k] >> 8);
		out[2 * o + 1] = (unsigned char)g[k];
	}
	return 0;
}

int cgs_parse_listen(const char *s, int *family, unsigned char addr[16], unsigned *port)
{
	const char *colon = strrchr(s, ':');
	memset(addr, 0, 16);
	if (!colon) { /* PORT alone: loopback */
		*family = 2; /* AF_INET */
		addr[0] = 127;
		addr[3] = 1;
		return parse_port(s, port);
	}
	if (parse_port(colon + 1, port))
		return -1;
	size_t n = (size_t)(colon - s);
	if (!n) {
		*family = 2;
		addr[0] = 127;
		addr[3] = 1;
		return 0;
	}
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		*family = 10; /* AF_INET6 */
		return parse_ipv6(s + 1, n - 2, addr);
	}
	*family = 2;
	return parse_ipv4(s, n, addr);
}

int cgs_parse_duration(const char *s, uint64_t *ns)
{
	static const char *const unit[] = { "ns", "us", "ms", "s", "m", "h" };
	static const uint64_t mul[] = { 1, 1000, 1000000, 1000000000ULL, 60000000000ULL,
					3600000000000ULL };
	return parse_scaled(s, unit, mul, CGS_ARRAY_LEN(unit), 1000000000ULL, ns);
}

static const struct { const char *name; int sig; } signames[] = {
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "WINCH", SIGWINCH },
	{ "PWR", SIGPWR }, { "URG", SIGURG }, { "PROF", SIGPROF }, { "TTIN", SIGTTIN },
};

int cgs_parse_signal(const char *s, int *sig)
{
	uint64_t v;
	if (!strcmp(s, "none") || !strcmp(s, "0")) {
		*sig = 0;
		return 0;
	}
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < CGS_ARRAY_LEN(signames); i++)
		if (!strcmp(s, signames[i].name)) {
			*sig = signames[i].sig;
			return 0;
		}
	if (!strncmp(s, "RTMIN+", 6) && !cgs_parse_u64(s + 6, &v) && v <= (uint64_t)(SIGRTMAX - SIGRTMIN)) {
		*sig = SIGRTMIN + (int)v;
		return 0;
	}
	if (!strcmp(s, "RTMIN")) {
		*sig = SIGRTMIN;
		return 0;
	}
	/* Numbers: only signals whose default a dump may take over safely. */
	if (!cgs_parse_u64(s, &v) && v >= 1 && v <= (uint64_t)SIGRTMAX && v != SIGKILL && v != SIGSTOP &&
	    v != SIGSEGV && v != SIGBUS && v != SIGFPE && v != SIGILL && v != SIGCHLD && v != SIGPIPE &&
	    v != SIGABRT && v != SIGTRAP && v != SIGSYS) {
		*sig = (int)v;
		return 0;
	}
	return -1;
}

const char *cgs_signal_name(int sig, char buf[16])
{
	if (sig == 0)
		return "none";
	for (size_t i = 0; i < CGS_ARRAY_LEN(signames); i++)
		if (signames[i].sig == sig) {
			strcpy(buf, "SIG");
			strcpy(buf + 3, signames[i].name);
			return buf;
		}
	char num[21];
	if (sig < 0 || sig > 999)
		return "SIG?";
	strcpy(buf, "SIG");
	strcpy(buf + 3, cgs_u64_str((uint64_t)sig, num));
	return buf;
}

const char *cgs_unwind_name(int mode)
{
	return mode == 1 ? "libunwind" : mode == 2 ? "compare" : "fast";
}

const char *cgs_format_name(int fmt)
{
	switch (fmt) {
	case CGS_FMT_JSON: return "json";
	case CGS_FMT_FOLDED: return "folded";
	case CGS_FMT_PPROF: return "pprof";
	case CGS_FMT_OPENMETRICS: return "openmetrics";
	case CGS_FMT_CHROME: return "chrome";
	default: return "text";
	}
}

/* A copy of s safe to print: control and non-ASCII bytes become '?', and a
 * long value ends in "...". */
static void printable(const char *s, char *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i < cap - 4; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 32 || c > 126) ? '?' : (char)c;
	}
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = 0;
}

static void bad(bool quiet, const char *name, const char *val, const char *why, const char *dflt)
{
	char shown[64];
	size_t n = strlen(val);
	if (quiet)
		return;
	/* Never echo a hostile value at full length or with control bytes. */
	for (size_t i = 0; i < sizeof(shown) - 1; i++) {
		if (i == n) {
			shown[i] = 0;
			break;
		}
		unsigned char c = (unsigned char)val[i];
		shown[i] = (c < 32 || c > 126) ? '?' : (char)c;
		shown[i + 1] = 0;
	}
	cgs_log(name, "=", shown, (n >= sizeof(shown) - 1) ? "..." : "", ": ", why,
		"; using ", dflt, (const char *)NULL);
}

static void set_defaults(struct cgs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->leaks = true;
	o->targets = true;
	o->children = true;
	o->format = CGS_FMT_TEXT;
	o->signal = SIGUSR2;
	o->stack_depth = 16;
	o->top = 20;
	o->target_rows = 30;
	o->memory = DEFAULT_MEMORY;
	o->slow_ns = DEFAULT_SLOW_NS;
	o->ring_events = CGS_RING_EVENTS_DEFAULT;
	o->leak_kinds = true;
	o->suppress_defaults = true;
	o->output_mode = 0600;
	o->exit_wait_ns = DEFAULT_EXIT_WAIT_NS;
}

#define BOOL_WHY "not a boolean (1, yes, true, on; 0, no, false, off)"

/* The placeholders CGOSHIM_OUTPUT knows (watcher.c expands them). */
static bool known_placeholder(char c)
{
	return c == 'p' || c == 'n' || c == '%';
}

/* The first unknown placeholder of an output template ("%x", or "%" for a
 * trailing one) into bad[3]; false when every one is known. */
bool cgs_output_bad_placeholder(const char *v, char bad[3])
{
	for (const char *p = v; *p; p++) {
		if (*p != '%')
			continue;
		if (!p[1] || !known_placeholder(p[1])) {
			bad[0] = '%';
			bad[1] = p[1];
			bad[2] = 0;
			return true;
		}
		p++;
	}
	return false;
}

/* Check one CGOSHIM_name=v and store it in *o. NULL when v is good; else
 * why it is not, with *dflt the value used instead. The one table of
 * verdicts: the library warns and keeps *dflt, the launcher refuses
 * (cgs_option_check). *note gets a warning about a value that is used
 * anyway (CGOSHIM_OUTPUT's unknown placeholders). */
static const char *check_one(struct cgs_options *o, const char *name, const char *v, const char **dflt,
			     const char **note, bool *known)
{
	uint64_t u;
	bool b;
	*known = true;
	*note = NULL;
	if (!strcmp(name, "DISABLE")) {
		*dflt = "0";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->disable = b;
	} else if (!strcmp(name, "LEAKS")) {
		*dflt = "1";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->leaks = b;
	} else if (!strcmp(name, "TARGETS")) {
		*dflt = "1";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->targets = b;
	} else if (!strcmp(name, "CHILDREN")) {
		*dflt = "1";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->children = b;
	} else if (!strcmp(name, "LAUNCHER")) {
		*dflt = "0";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->launcher = b;
	} else if (!strcmp(name, "FORMAT")) {
		*dflt = "text";
		if (!strcmp(v, "text")) o->format = CGS_FMT_TEXT;
		else if (!strcmp(v, "json")) o->format = CGS_FMT_JSON;
		else if (!strcmp(v, "folded")) o->format = CGS_FMT_FOLDED;
		else if (!strcmp(v, "pprof")) o->format = CGS_FMT_PPROF;
		else if (!strcmp(v, "openmetrics")) o->format = CGS_FMT_OPENMETRICS;
		else if (!strcmp(v, "chrome")) o->format = CGS_FMT_CHROME;
		else return "not text, json, folded, pprof, openmetrics or chrome";
	} else if (!strcmp(name, "SIGNAL")) {
		int sig;
		*dflt = "SIGUSR2";
		if (cgs_parse_signal(v, &sig)) return "not a usable signal (USR1, USR2, HUP, WINCH, PWR, URG, PROF, TTIN, RTMIN+N, a number, or none)";
		o->signal = sig;
	} else if (!strcmp(name, "STACK_DEPTH")) {
		*dflt = "16";
		if (cgs_parse_u64(v, &u) || u < 1 || u > 64) return "not 1 to 64";
		o->stack_depth = (int)u;
	} else if (!strcmp(name, "TOP")) {
		*dflt = "20";
		if (cgs_parse_u64(v, &u) || u < 1 || u > 100000) return "not 1 to 100000";
		o->top = (int)u;
	} else if (!strcmp(name, "TARGET_ROWS")) {
		*dflt = "30";
		if (cgs_parse_u64(v, &u) || u < 1 || u > 100000) return "not 1 to 100000";
		o->target_rows = (int)u;
	} else if (!strcmp(name, "MIN_AGE")) {
		*dflt = "0";
		if (cgs_parse_duration(v, &u)) return "not a duration like 30s";
		o->min_age_ns = u;
	} else if (!strcmp(name, "MEMORY")) {
		*dflt = "8G";
		if (cgs_parse_size(v, &u) || u < MIN_MEMORY || u > MAX_MEMORY) return "not a size from 16M to 1T";
		o->memory = u;
	} else if (!strcmp(name, "SLOW_NS")) {
		*dflt = "1ms";
		/* A plain number is nanoseconds here (the variable's name says so). */
		if (cgs_parse_u64(v, &u) && cgs_parse_duration(v, &u)) return "not a duration (ns, or like 2ms)";
		o->slow_ns = u;
	} else if (!strcmp(name, "UNWIND")) {
		*dflt = "fast";
		if (!strcmp(v, "fast")) o->unwind = 0;
		else if (!strcmp(v, "libunwind")) o->unwind = 1;
		else if (!strcmp(v, "compare")) o->unwind = 2;
		else return "not fast, libunwind or compare";
	} else if (!strcmp(name, "SYMBOL_CACHE")) {
		*dflt = "none";
		if (!strcmp(v, "0") || !*v) o->symbol_cache[0] = 0;
		else if (v[0] != '/' || strlen(v) >= sizeof(o->symbol_cache)) return "not 0 or an absolute path";
		else memcpy(o->symbol_cache, v, strlen(v) + 1);
	} else if (!strcmp(name, "RING_EVENTS")) {
		*dflt = "1024";
		if (cgs_parse_u64(v, &u) || u < CGS_RING_EVENTS_MIN || u > CGS_RING_EVENTS_MAX)
			return "not 16 to 16777216";
		o->ring_events = (uint32_t)u;
	} else if (!strcmp(name, "NUMA_TOPOLOGY")) {
		*dflt = "the kernel's";
		if (strlen(v) >= CGS_TOPOLOGY_MAX || cgs_topology_parse(v, NULL))
			return "not like 0-1:0,2-3:1 (CPUS:NODE,...)";
		memcpy(o->numa_topology, v, strlen(v) + 1);
	} else if (!strcmp(name, "INTERVAL")) {
		*dflt = "0 (off)";
		if (cgs_parse_duration(v, &u) || (u && u < CGS_INTERVAL_MIN_NS))
			return "not 0 or a duration of at least 10ms";
		o->interval_ns = u;
	} else if (!strcmp(name, "OUTPUT_MODE")) {
		*dflt = "0600";
		/* Octal permission bits, owner-writable: the watcher writes the
		 * file and a later run replaces it. */
		u = 0;
		const char *p = v;
		for (; *p >= '0' && *p <= '7' && u <= 0777; p++)
			u = u * 8 + (uint64_t)(*p - '0');
		if (!*v || *p || u > 0777 || !(u & 0200)) return "not an octal mode from 0200 to 0777 with the owner's write bit";
		o->output_mode = (uint32_t)u;
	} else if (!strcmp(name, "MAIN_PID")) {
		*dflt = "none";
		if (cgs_parse_u64(v, &u) || u < 1 || u > 0x7fffffff) return "not a process id";
		o->main_pid = (int32_t)u;
	} else if (!strcmp(name, "SPAWN")) {
		*dflt = "none";
		/* The name of an abstract unix socket: printable, no '/' needed. */
		size_t n = strlen(v);
		if (!n || n >= sizeof(o->spawn)) return "not a name of 1 to 47 bytes";
		for (size_t i = 0; i < n; i++)
			if (v[i] <= ' ' || v[i] > '~') return "not a name of printable characters";
		memcpy(o->spawn, v, n + 1);
	} else if (!strcmp(name, "EXIT_WAIT")) {
		*dflt = "10s";
		if (cgs_parse_duration(v, &u) || u > MAX_EXIT_WAIT_NS)
			return "not 0 or a duration up to 1h";
		o->exit_wait_ns = u;
	} else if (!strcmp(name, "INTERVAL_MODE")) {
		*dflt = "cumulative";
		if (!strcmp(v, "delta")) o->interval_delta = true;
		else if (!strcmp(v, "cumulative")) o->interval_delta = false;
		else return "not cumulative or delta";
	} else if (!strcmp(name, "LISTEN")) {
		int fam;
		unsigned char a[16];
		unsigned port;
		*dflt = "off";
		if (strlen(v) >= sizeof(o->listen) || cgs_parse_listen(v, &fam, a, &port))
			return "not PORT, :PORT, IPV4:PORT or [IPV6]:PORT";
		memcpy(o->listen, v, strlen(v) + 1);
	} else if (!strcmp(name, "OUTPUT")) {
		size_t n = strlen(v);
		char bad[3];
		*dflt = "stderr";
		if (n >= CGS_OUTPUT_MAX) return "longer than 255 bytes";
		if (!strcmp(v, "stderr")) o->output[0] = 0;
		else memcpy(o->output, v, n + 1);
		if (cgs_output_bad_placeholder(v, bad))
			*note = bad[1] ? "unknown placeholder (known: %p, %n, %%)"
				       : "a trailing % is no placeholder (known: %p, %n, %%)";
	} else if (!strcmp(name, "LEAK_KINDS")) {
		*dflt = "1";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->leak_kinds = b;
	} else if (!strcmp(name, "SUPPRESS_DEFAULTS")) {
		*dflt = "1";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
		o->suppress_defaults = b;
	} else if (!strcmp(name, "SUPPRESS")) {
		size_t n = strlen(v);
		*dflt = "none";
		if (n >= CGS_OUTPUT_MAX) return "longer than 255 bytes";
		memcpy(o->suppress, v, n + 1);
	} else if (!strcmp(name, "VERDICT_DIR")) {
		size_t n = strlen(v);
		*dflt = "none";
		if (n >= CGS_OUTPUT_MAX) return "longer than 255 bytes";
		memcpy(o->verdict_dir, v, n + 1);
	} else if (!strcmp(name, "FAIL_ON_LEAK")) {
		/* read by the launcher (the leak gate); checked here all the same */
		*dflt = "no leak gate";
		if (cgs_parse_bool(v, &b) && cgs_parse_size(v, &u)) return "not 0, 1 or a number of bytes";
	} else if (!strcmp(name, "HOLD_EXIT")) {
		/* read by the launcher (the exit hold) */
		*dflt = "1";
		if (cgs_parse_bool(v, &b)) return BOOL_WHY;
	} else if (!strcmp(name, "ONLY")) {
		size_t n = strlen(v);
		*dflt = "every program";
		if (n >= CGS_OUTPUT_MAX) return "longer than 255 bytes";
		memcpy(o->only, v, n + 1);
	} else if (!strcmp(name, "LIB") || !strcmp(name, "LAUNCHER_TIMEOUT") || !strcmp(name, "WATCHER") ||
		   !strncmp(name, "TEST_", 5)) {
		/* read by the launcher; CGOSHIM_WATCHER by spawn.c; CGOSHIM_TEST_* by the test suite */
	} else {
		*known = false;
	}
	return NULL;
}

static void parse_one(struct cgs_options *o, const char *name, const char *v, bool quiet)
{
	const char *dflt = "", *note;
	bool known;
	char full[48] = "CGOSHIM_";
	const char *why = check_one(o, name, v, &dflt, &note, &known);
	if (quiet)
		return;
	if (!known) {
		char shown[40];
		printable(name, shown, sizeof(shown));
		cgs_log("CGOSHIM_", shown, ": unknown option, ignored", (const char *)NULL);
		return;
	}
	size_t n = strlen(name);
	memcpy(full + 8, name, n < sizeof(full) - 9 ? n + 1 : 0);
	if (why)
		bad(quiet, full, v, why, dflt);
	else if (note) {
		char shown[64];
		printable(v, shown, sizeof(shown));
		cgs_log(full, "=", shown, ": ", note, "; kept as written", (const char *)NULL);
	}
}

const char *cgs_option_check(const char *var, const char *value, const char **note)
{
	struct cgs_options scratch;
	const char *dflt, *dummy;
	bool known;
	set_defaults(&scratch);
	if (strncmp(var, "CGOSHIM_", 8))
		return "not a CGOSHIM_ variable";
	const char *why = check_one(&scratch, var + 8, value, &dflt, note ? note : &dummy, &known);
	return known ? why : "unknown option";
}

/* Where a pprof profile goes when CGOSHIM_OUTPUT is not set: a gzipped
 * protobuf is no use on a terminal. */
#define PPROF_DEFAULT_OUTPUT "cgoshim.%p.%n.pb.gz"

/* dst = a + b when it fits, else "". */
static void join(char *dst, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	dst[0] = 0;
	if (la + lb < n) {
		memcpy(dst, a, la);
		memcpy(dst + la, b, lb + 1);
	}
}

void cgs_options_parse(struct cgs_options *o, char *const *envp, bool quiet)
{
	bool output_set = false, cache_set = false;
	const char *xdg = NULL, *home = NULL;
	set_defaults(o);
	for (; envp && *envp; envp++) {
		const char *e = *envp;
		if (!strncmp(e, "XDG_CACHE_HOME=", 15))
			xdg = e + 15;
		else if (!strncmp(e, "HOME=", 5))
			home = e + 5;
		if (strncmp(e, "CGOSHIM_", 8))
			continue;
		const char *eq = strchr(e, '=');
		if (!eq)
			continue;
		if (eq - (e + 8) >= 32) {
			if (!quiet) {
				char shown[40];
				printable(e + 8, shown, sizeof(shown));
				cgs_log("CGOSHIM_", shown, ": unknown option, ignored", (const char *)NULL);
			}
			continue;
		}
		char name[32];
		memcpy(name, e + 8, (size_t)(eq - (e + 8)));
		name[eq - (e + 8)] = 0;
		parse_one(o, name, eq + 1, quiet);
		output_set |= !strcmp(name, "OUTPUT");
		cache_set |= !strcmp(name, "SYMBOL_CACHE");
	}
	/* Only absolute directories (XDG base directory rules). */
	if (!cache_set && xdg && xdg[0] == '/')
		join(o->symbol_cache, sizeof(o->symbol_cache), xdg, "/cgoshim");
	else if (!cache_set && home && home[0] == '/')
		join(o->symbol_cache, sizeof(o->symbol_cache), home, "/.cache/cgoshim");
	if (o->format == CGS_FMT_PPROF && !output_set)
		memcpy(o->output, PPROF_DEFAULT_OUTPUT, sizeof(PPROF_DEFAULT_OUTPUT));
}

/* One bracket expression at p (after '['): whether c is in it; *end is set
 * past the ']', or NULL when the expression is not closed (then '[' is a
 * plain character). */
static bool bracket(const char *p, char c, const char **end)
{
	bool neg = *p == '!' || *p == '^', in = false;
	if (neg)
		p++;
	for (bool first = true; *p && (first || *p != ']'); first = false) {
		char lo = *p++, hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			hi = p[1];
			p += 2;
		}
		if (c >= lo && c <= hi)
			in = true;
	}
	*end = *p == ']' ? p + 1 : NULL;
	return in != neg;
}

bool cgs_glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL; /* backtrack to the last '*' only */
	while (*s) {
		const char *end = NULL;
		bool ok;
		if (*pat == '*') {
			star = ++pat;
			resume = s;
			continue;
		}
		if (*pat == '?') {
			ok = true;
			end = pat + 1;
		} else if (*pat == '[' && (ok = bracket(pat + 1, *s, &end), end)) {
			/* end is past the ']' */
		} else {
			const char *q = pat[0] == '\\' && pat[1] ? pat + 1 : pat;
			ok = *q && *q == *s;
			end = q + 1;
		}
		if (ok) {
			pat = end;
			s++;
			continue;
		}
		if (!star)
			return false;
		pat = star;
		s = ++resume;
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}
