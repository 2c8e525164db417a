"""Tuned against best fixed: for each algorithm, the profile's setting (`phirig-agent tune`) against
the best fixed --threads/--intensity, in paired rounds.

Every fixed setting (threads 1..cores x ways 1..5, 1..2 for the heavy variants) is measured once;
the fastest of them and the tuned one then run alternately --pairs times, the order swapped every
pair, and the table shows each side's median and the median of the pairs' ratios (tuned / fixed).
The issue's target is a ratio of at least 0.97.

Without --profile the agent tunes the algorithms first (into a temporary file; the time it took is
printed), so one command measures both.

Usage: python3 benches/tune_vs_fixed.py --agent target/release/phirig-agent [--profile FILE]
           [--algos cn/0,cn/r,cn-lite/1,cn-pico,cn-heavy/0] [--seconds S] [--rounds N]
           [--round-ms MS]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def bench(agent, algo, threads, ways, seconds):
    cmd = [agent, "bench", "--algo", algo, "--threads", str(threads), "--intensity", str(ways),
           "--seconds", str(seconds), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["total_hs"]


def tune(agent, algos, round_ms, pairs, path):
    cmd = [agent, "tune", "--algo", algos, "--profile", path, "--pairs", str(pairs)]
    if round_ms:
        cmd += ["--round-ms", str(round_ms)]
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"tuned {algos} in {time.monotonic() - start:.0f} s", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--profile", help="a tuned profile; without it the agent tunes first")
    p.add_argument("--algos", default="cn/0,cn/r,cn-lite/1,cn-pico,cn-heavy/0")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--rounds", "--pairs", dest="pairs", type=int, default=3,
                   help="paired rounds of tuned against fixed (also the tune's pairs)")
    p.add_argument("--round-ms", type=int, help="the tune's round length (its default otherwise)")
    a = p.parse_args()
    if a.profile:
        with open(a.profile) as f:
            profile = json.load(f)
    else:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "profile.json")
            tune(a.agent, a.algos, a.round_ms, a.pairs, path)
            with open(path) as f:
                profile = json.load(f)
    cores = os.cpu_count() or 1
    print(f"{'algo':<12} {'tuned':>6} {'best fixed':>10} {'tuned H/s':>10} {'fixed H/s':>10} "
          f"{'ratio':>6}")
    for algo in a.algos.split(","):
        best = profile["algos"][algo]
        tuned = (best["threads"], best["intensity"])
        max_ways = 2 if algo.startswith("cn-heavy") else 5
        grid = [(t, k) for t in range(1, cores + 1) for k in range(1, max_ways + 1)]
        once = {s: bench(a.agent, algo, s[0], s[1], a.seconds) for s in grid}
        fixed = max(once, key=once.get)
        ts, fs, ratios = [], [], []
        for i in range(a.pairs):
            order = [tuned, fixed] if i % 2 == 0 else [fixed, tuned]
            got = {s: bench(a.agent, algo, s[0], s[1], a.seconds) for s in order}
            ts.append(got[tuned])
            fs.append(got[fixed])
            ratios.append(got[tuned] / got[fixed] if got[fixed] else 0.0)
        print(f"{algo:<12} {'%dx%d' % tuned:>6} {'%dx%d' % fixed:>10} "
              f"{statistics.median(ts):>10.1f} {statistics.median(fs):>10.1f} "
              f"{statistics.median(ratios):>6.3f}", flush=True)


if __name__ == "__main__":
    main()
