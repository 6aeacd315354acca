import os, time, sys
_T0 = float(os.environ.get("T0", "0"))
def mark(what):
    if _T0:
        c = time.process_time()
        sys.stderr.write(f"T {os.getpid()} {time.perf_counter()-_T0:.3f} cpu {c:.3f} {what}\n")
