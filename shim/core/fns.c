/* fns.c - names and families of the interposed entry points. */
#include "fns.h"

const char *const cgs_fn_names[CGS_FN_COUNT] = {
#define CGS_X(n, f) #n,
	CGS_FN_LIST(CGS_X)
#undef CGS_X
};

const unsigned char cgs_fn_family[CGS_FN_COUNT] = {
#define CGS_X(n, f) CGS_FAM_##f,
	CGS_FN_LIST(CGS_X)
#undef CGS_X
};
