"""The kernel's speed table: variant x threads x AES path x intensity, from `phirig-agent bench --json`.

Every cell is measured --rounds times, the cells of one round one after another, so a burst of load
from the machine's neighbours hits one round of every cell rather than every round of one cell; the
table shows the median and the best run. "auto" is the intensity the agent picks for this machine.

Usage: python3 benches/bench_table.py --agent target/release/phirig-agent
           [--algos cn/0,cn-pico] [--threads 1,2] [--aes hw,soft] [--intensity auto,1,2,3]
           [--seconds S] [--rounds N] [--json FILE]
"""

import argparse
import json
import statistics
import subprocess
import sys

# The 20 algorithms of the CryptoNight family, by the names pools send.
ALL = ["cn/0", "cn/1", "cn/2", "cn/r", "cn/fast", "cn/half", "cn/xao", "cn/rto", "cn/rwz", "cn/zls",
       "cn/double", "cn/ccx", "cn-lite/0", "cn-lite/1", "cn-heavy/0", "cn-heavy/tube",
       "cn-heavy/xhv", "cn-pico", "cn-pico/tlo", "cn/upx2"]


def run(agent, algo, threads, aes, intensity, seconds):
    cmd = [agent, "bench", "--algo", algo, "--threads", str(threads), "--seconds", str(seconds),
           "--json"]
    if aes == "soft":
        cmd.append("--no-aesni")
    if intensity != "auto":
        cmd += ["--intensity", str(intensity)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    for line in reversed(out.stdout.splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    sys.exit(f"{' '.join(cmd)} printed no JSON report")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agent", required=True)
    p.add_argument("--algos", default=",".join(ALL))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--aes", default="hw,soft")
    p.add_argument("--intensity", default="auto")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="also write every run to this file")
    a = p.parse_args()

    cells = [(algo, int(t), aes, k)
             for algo in a.algos.split(",")
             for t in a.threads.split(",")
             for aes in a.aes.split(",")
             for k in a.intensity.split(",")]
    runs = {c: [] for c in cells}
    for r in range(a.rounds):
        for c in cells:
            runs[c].append(run(a.agent, *c, a.seconds))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)

    print("| algorithm | threads | AES | intensity | H/s median | H/s best | huge pages | RSS MiB |")
    print("|---|---:|---|---:|---:|---:|---|---:|")
    for (algo, t, aes, k), rs in runs.items():
        rates = [x["total_hs"] for x in rs]
        last = rs[-1]
        shown = f"{last['intensity']}" + (" (auto)" if k == "auto" else "")
        got, wanted = last["hugepages"]
        print(f"| {algo} | {t} | {last['aes']} | {shown} | {statistics.median(rates):.1f} | "
              f"{max(rates):.1f} | {got}/{wanted} | {last['rss_bytes'] / 2**20:.1f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"algo": c[0], "threads": c[1], "aes": c[2], "intensity": c[3], "runs": v}
                       for c, v in runs.items()], f, indent=2)


if __name__ == "__main__":
    main()
