"""The Python side of scope's benchmarks: contextlib on this machine, timed
with timeit, printed in ns per operation in the same shape as the Go cases.

Run: python3 bench/python/bench.py   (bench/run.sh runs it after the Go side)
"""
import contextlib
import threading
import timeit

lock = threading.Lock()
sink = 0


def body():
    global sink
    sink += 1


def with_lock():
    with lock:
        body()


@contextlib.contextmanager
def locked():
    with lock:
        yield lock


def with_contextmanager():
    with locked():
        body()


def callback():
    return None


def exitstack(n):
    def run():
        with contextlib.ExitStack() as stack:
            for _ in range(n):
                stack.callback(callback)
    return run


def exitstack_enter_contextmanager():
    with contextlib.ExitStack() as stack:
        stack.enter_context(locked())
        body()


def measure(fn, budget=0.5):
    """Median ns/op over 5 runs of about budget/5 seconds each."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    runs = timer.repeat(repeat=5, number=number)
    per = sorted(r / number * 1e9 for r in runs)
    return per[len(per) // 2]


CASES = [
    ("with lock (baseline)", with_lock),
    ("with @contextmanager", with_contextmanager),
    ("ExitStack.enter_context(@contextmanager)", exitstack_enter_contextmanager),
] + [(f"ExitStack N={n} callbacks", exitstack(n)) for n in (1, 8, 64)]

if __name__ == "__main__":
    import platform
    print(f"python {platform.python_version()} on {platform.machine()}")
    for name, fn in CASES:
        print(f"{name:45s} {measure(fn):10.1f} ns/op")
