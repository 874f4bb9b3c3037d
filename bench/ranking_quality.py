#!/usr/bin/env python3
"""Top-N ranking quality of cinefactor's algorithms on one protocol, over several split seeds.

Runs `cinefactor evaluate --json` once per (configuration, split seed): a holdout of 20 % (--split, default
random: by rating), held-out ratings >= 4 relevant, the user's training movies excluded, every movie a
candidate above the popularity floor (--min-ratings, default 20 as served). Prints one Markdown row per
configuration: the mean and sample standard deviation over the seeds of each metric at 10, and the median
fit time. Python's standard library only.

  bench/ranking_quality.py --bin build/release/cinefactor --data ../shared/datasets/ml-latest-small \\
      --seeds 42-46 --config "svd -k 50" --config "als -k 64"

A configuration is `ALGO [evaluate flags...]`. Tune on a seed you do not report (e.g. --seeds 41).
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys

METRICS = ["precision", "recall", "ndcg", "map", "hitrate", "coverage"]


def seeds(text):
    if "-" in text:
        lo, hi = text.split("-", 1)
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def evaluate(args, config, seed):
    algo, *flags = shlex.split(config)
    cmd = [args.bin, "-q", "evaluate", "--data", args.data, "--algo", algo, "--protocol", "holdout",
           "--split", args.split, "--test-fraction", "0.2", "--split-seed", str(seed), "--relevance", "4",
           "--min-ratings", str(args.min_ratings), "--at", "10", "--json", *flags]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def metric(result, name):
    return result["metrics"][f"{name}@10"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the cinefactor binary")
    parser.add_argument("--data", required=True, help="dataset directory")
    parser.add_argument("--seeds", type=seeds, default=seeds("42-46"), help="split seeds: A-B or A,B,C")
    parser.add_argument("--split", default="random", choices=["random", "per-user", "temporal", "temporal-global"],
                        help="holdout split (default random: by rating)")
    parser.add_argument("--min-ratings", type=int, default=20, help="popularity floor (default 20, as served)")
    parser.add_argument("--config", action="append", required=True, help="ALGO [evaluate flags]")
    args = parser.parse_args()
    print(f"| configuration | " + " | ".join(f"{m}@10" for m in METRICS) + " | fit s (median) |")
    print("|---" * (len(METRICS) + 2) + "|")
    for config in args.config:
        runs = [evaluate(args, config, s) for s in args.seeds]
        cells = []
        for m in METRICS:
            values = [metric(r, m) for r in runs]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4f} ± {sd:.4f}")
        fit = statistics.median(r["fit_seconds"] for r in runs)
        print(f"| `{config}` | " + " | ".join(cells) + f" | {fit:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
