// cxxplugin.cpp - a C++ library, loaded after start (dlopen, or Python's
// ctypes), whose threads end with pthread_exit and pthread_cancel through
// C++ frames. glibc's forced unwind runs libgcc_s's unwinder through them;
// the C++ objects' destructors must run, and nothing may crash.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

namespace {
struct Noisy {
	const char *what;
	explicit Noisy(const char *w) : what(w) {}
	~Noisy() { printf("destructor ran: %s\n", what); fflush(stdout); }
};

void inner_exit()
{
	Noisy n("pthread_exit");
	pthread_exit(nullptr);
}

void *exits(void *)
{
	Noisy outer("thread frame (exit)");
	inner_exit();
	return nullptr;
}

void *cancelled(void *arg)
{
	Noisy n("pthread_cancel");
	int *ready = static_cast<int *>(arg);
	__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause(); // a cancellation point
	return nullptr;
}

void *throws(void *)
{
	try {
		Noisy n("throw");
		throw 42;
	} catch (int v) {
		printf("caught %d\n", v);
		fflush(stdout);
	}
	return nullptr;
}
} // namespace

extern "C" __attribute__((visibility("default"))) int cxx_run(void)
{
	pthread_t t;
	void *ret;
	if (pthread_create(&t, nullptr, exits, nullptr) || pthread_join(t, &ret))
		return 1;
	int ready = 0;
	if (pthread_create(&t, nullptr, cancelled, &ready))
		return 2;
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	pthread_cancel(t);
	if (pthread_join(t, &ret))
		return 3;
	printf("cancelled: %s\n", ret == PTHREAD_CANCELED ? "yes" : "no");
	if (pthread_create(&t, nullptr, throws, nullptr) || pthread_join(t, &ret))
		return 4;
	printf("cxx_run done\n");
	fflush(stdout);
	return 0;
}
