"""The tiny test runner of the reference's self-tests (no pytest on Debian's python3-torch setup).

    from testing import test, run_tests
    @test
    def test_something(): ...          # may return a note to print
    sys.exit(run_tests())              # command-line arguments select tests by substring
"""
import sys
import time
import traceback

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def run_tests(only=None):
    only = sys.argv[1:] if only is None else only
    passed = failed = 0
    t_all = time.time()
    for fn in TESTS:
        if only and not any(o in fn.__name__ for o in only):
            continue
        t0 = time.time()
        try:
            note = fn()
            passed += 1
            print(f"PASS {fn.__name__} ({time.time() - t0:.1f}s)" + (f": {note}" if note else ""), flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed ({time.time() - t_all:.1f}s)")
    return 1 if failed else 0
