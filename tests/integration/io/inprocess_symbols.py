#!/usr/bin/env python3
"""inprocess-symbols: libcgoshim.so references no libc function outside
shim/inprocess-allowed.txt, where each entry says why it is safe inside an
interposed call (async-signal-safe, no allocation, no lock the program can
hold). Also refuses, whatever the list says, the names that are never safe
there: stdio, the malloc family, pthread mutexes/condition variables/rwlocks,
syslog, locale and getenv-style functions.

    inprocess_symbols.py LIB ALLOWLIST [SHIMDIR]

With SHIMDIR (the source folder shim/), also checks that the in-process
folders (core/, interpose/) include no header of the watcher's or the
command's folders (watcher/, cli/).
"""
import os
import re
import subprocess
import sys

NEVER = re.compile(r"^(f?printf|v?s?n?printf|puts|fputs|fwrite|fread|fopen|fdopen|fclose|fflush|"
                   r"f?getc|f?putc|getline|perror|malloc|calloc|realloc|reallocarray|free|"
                   r"posix_memalign|aligned_alloc|memalign|valloc|pvalloc|strdup|strndup|asprintf|"
                   r"pthread_mutex_.*|pthread_cond_.*|pthread_rwlock_.*|pthread_spin_.*|sem_.*|"
                   r"syslog|openlog|vsyslog|setlocale|newlocale|strerror|strerror_r|getenv|"
                   r"secure_getenv|qsort|atexit|__cxa_atexit|dlopen|dlclose|dlsym|dlvsym|"
                   r"localtime.*|gmtime.*|strftime|exit)$")


def undefined(lib):
    out = subprocess.run(["nm", "-D", "-u", lib], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if parts:
            names.add(parts[-1].split("@")[0])
    return names


def allowed(path):
    names = {}
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(\S+)\s+-\s+(\S.*)$", line)
        if not m:
            sys.exit("%s:%d: not 'NAME  - reason': %s" % (path, n, line))
        names[m.group(1)] = m.group(2)
    return names


def main():
    lib, listfile = sys.argv[1], sys.argv[2]
    refs = undefined(lib)
    ok = allowed(listfile)
    bad = sorted(n for n in refs if n not in ok)
    never = sorted(n for n in refs if NEVER.match(n))
    never_listed = sorted(n for n in ok if NEVER.match(n))
    failed = False
    if bad:
        failed = True
        print("FAIL: %s references %d function(s) not in %s:" % (lib, len(bad), listfile))
        for n in bad:
            print("    " + n)
    if never:
        failed = True
        print("FAIL: %s references function(s) never safe inside an interposed call: %s" % (lib, " ".join(never)))
    if never_listed:
        failed = True
        print("FAIL: %s allows function(s) never safe in-process: %s" % (listfile, " ".join(never_listed)))
    if not refs:
        failed = True
        print("FAIL: nm found no undefined symbol in %s (not a shared library?)" % lib)
    if len(sys.argv) > 3:
        shim = sys.argv[3]
        outside = set()
        for d in ("watcher", "cli"):
            outside.update(f for f in os.listdir(os.path.join(shim, d)) if f.endswith(".h"))
        for d in ("core", "interpose"):
            for f in sorted(os.listdir(os.path.join(shim, d))):
                if not f.endswith((".c", ".h")):
                    continue
                for n, line in enumerate(open(os.path.join(shim, d, f)), 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if m and os.path.basename(m.group(1)) in outside:
                        failed = True
                        print("FAIL: shim/%s/%s:%d includes %s, a header of the watcher or the command" % (d, f, n, m.group(1)))
    print("%d referenced, %d allowed, %d not allowed" % (len(refs), len(ok), len(bad)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
