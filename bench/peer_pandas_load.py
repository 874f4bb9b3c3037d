#!/usr/bin/python3
"""Peer for bench_load: pandas.read_csv on the same ratings.csv, with the dtypes a recommender needs.

Usage: /usr/bin/python3 bench/peer_pandas_load.py [DIR] [--runs N]
DIR defaults to $CINEFACTOR_BENCH_DATA. Prints every run and the median.
"""
import argparse
import os
import statistics
import sys
import time

import pandas as pd

DTYPES = {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", default=os.environ.get("CINEFACTOR_BENCH_DATA"))
    parser.add_argument("--runs", type=int, default=3, help="timed runs (the median is reported)")
    args = parser.parse_args()
    if not args.dir:
        print("peer_pandas_load: skipped: give a directory or set CINEFACTOR_BENCH_DATA", file=sys.stderr)
        return 0
    path = os.path.join(args.dir, "ratings.csv")
    size = os.path.getsize(path)
    times = []
    rows = 0
    for run in range(args.runs):
        start = time.perf_counter()
        frame = pd.read_csv(path, dtype=DTYPES, engine="c")
        elapsed = time.perf_counter() - start
        rows = len(frame)
        times.append(elapsed)
        print(f"run {run + 1}: {elapsed:.3f} s")
        del frame
    median = statistics.median(times)
    print(f"pandas {pd.__version__} read_csv (engine=c, single-threaded): {path}")
    print(f"  {size / 1e6:.1f} MB, {rows} rows, median of {args.runs}: {median:.3f} s "
          f"({rows / median / 1e6:.2f} M rows/s, {size / median / 1e6:.1f} MB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
