"""pycheck.py - the small harness the Python tests share: named checks that
print "ok"/"FAIL" lines and a closing "N passed, N failed" line.

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
    from pycheck import Checks
    c = Checks()
    c.check(cond, "what a user would check")
    sys.exit(c.done())
"""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failures = []

    def check(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
        return ok

    def done(self):
        print("%d passed, %d failed" % (self.passed, len(self.failures)))
        return 1 if self.failures else 0
