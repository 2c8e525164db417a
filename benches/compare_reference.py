"""Single-thread H/s of phirig vs Monero's reference C (py-cryptonight), measured alternately.

With --soft-aes both sides take their software AES: phirig's `--no-aesni` path (the Xeon Phi x100
cards have no AES-NI) against the reference forced to its own by MONERO_USE_SOFTWARE_AES=1.

Run through compare_reference.sh, which prepares the virtualenv and the release agent.
The phirig side is `phirig-agent bench --threads 1 --json` (one thread, the intensity the agent
picks for this machine unless --intensity is given), or the `hashloop` bench binary for an agent
without that command. Each algorithm is measured for --rounds rounds, reference then phirig; the
median of each side is compared, and the best run of each and every round's ratio are shown too.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

if "--soft-aes" in sys.argv:
    # The reference reads this once, on its first hash: it must be set before the first import.
    os.environ["MONERO_USE_SOFTWARE_AES"] = "1"
import pycryptonight  # noqa: E402

# py-cryptonight's variant numbers (Monero's cn_slow_hash `variant` argument).
VARIANTS = {"cn/0": 0, "cn/1": 1, "cn/2": 2, "cn/r": 4}
# What phirig should reach, as phirig / reference.
TARGETS = {"cn/0": 1.10, "cn/1": 1.15, "cn/2": 1.95, "cn/r": 1.75}
# Both on software AES: what the Xeon Phi x100 cards depend on.
SOFT_AES_TARGET = 2.0
# The same input and cn/r height as the Rust benches (benches/src/lib.rs).
BENCH_INPUT = bytes.fromhex(
    "0305a0dbd6bf05cf16e503f3a66f78007cbf34144332ecbfc22ed95c8700383b309ace1923a0964b"
    "00000008ba939a62724c0d7581fce5761e9d8a0e6a1c3f924fdd8493d1115649c05eb601"
)
NONCE_OFFSET = 39
CN_R_HEIGHT = 1806260


def with_nonce(nonce):
    return BENCH_INPUT[:NONCE_OFFSET] + nonce.to_bytes(4, "little") + BENCH_INPUT[NONCE_OFFSET + 4 :]


def check_reference(vectors_path, algos):
    """Hashes one published vector per algorithm, so a wrong variant number fails loudly."""
    seen = set()
    with open(vectors_path) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#") or fields[0] not in algos or fields[0] in seen:
                continue
            algo, data, expected = fields[0], bytes.fromhex(fields[1]), fields[2]
            height = int(fields[3]) if len(fields) > 3 else 0
            got = pycryptonight.cn_slow_hash(data, VARIANTS[algo], 0, height).hex()
            if got != expected:
                sys.exit(f"reference self-check failed for {algo}: got {got}, expected {expected}")
            seen.add(algo)


def reference_rate(algo, seconds):
    variant = VARIANTS[algo]
    height = CN_R_HEIGHT if algo == "cn/r" else 0
    hashes, nonce = 0, 0
    start = time.perf_counter()
    while True:
        pycryptonight.cn_slow_hash(with_nonce(nonce), variant, 0, height)
        hashes += 1
        nonce += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return hashes / elapsed


def agent_has_bench(agent):
    if not os.path.exists(agent):
        return False
    probe = subprocess.run([agent, "bench", "--help"], capture_output=True, text=True)
    # A stub binary exits 0 on anything; the real command documents the flags we pass.
    text = probe.stdout + probe.stderr
    return probe.returncode == 0 and all(flag in text for flag in ("--threads", "--seconds", "--json"))


def use_agent_flag_ok(agent):
    probe = subprocess.run([agent, "bench", "--help"], capture_output=True, text=True)
    return "--no-aesni" in probe.stdout


def phirig_rate(algo, seconds, agent, hashloop, use_agent, intensity, soft_aes=False):
    """H/s and the intensity the agent ran (its own choice unless `intensity` is given)."""
    if use_agent:
        cmd = [agent, "bench", "--algo", algo, "--threads", "1", "--seconds", str(seconds), "--json"]
        if intensity is not None:
            cmd += ["--intensity", str(intensity)]
        if soft_aes:
            cmd += ["--no-aesni"]
        key = "total_hs"
    else:
        if not hashloop:
            sys.exit(f"{agent} has no bench command and no --hashloop was given")
        cmd = [hashloop, "--algo", algo, "--seconds", str(seconds), "--json"]
        if intensity is not None:
            cmd += ["--ways", str(intensity)]
        key = "hs"
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {run.stderr.strip()}")
    # The report is the last JSON line; anything before it is logging.
    for line in reversed(run.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            report = json.loads(line)
            return float(report[key]), report.get("intensity", report.get("ways"))
    sys.exit(f"{' '.join(cmd)} printed no JSON report: {run.stdout!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True, help="release phirig-agent binary")
    parser.add_argument("--hashloop", help="release hashloop binary (only for an agent without bench)")
    parser.add_argument("--vectors", required=True, help="testdata/cryptonight.txt")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per algorithm")
    parser.add_argument("--algos", default="cn/0,cn/1,cn/2,cn/r")
    parser.add_argument("--cpu", type=int, help="pin both sides to this CPU")
    parser.add_argument("--intensity", type=int, help="phirig's interleaved hashes (default: its own choice)")
    parser.add_argument("--soft-aes", action="store_true",
                        help="both sides on software AES (phirig --no-aesni, MONERO_USE_SOFTWARE_AES=1)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.soft_aes and not use_agent_flag_ok(args.agent):
        sys.exit("--soft-aes needs an agent whose bench takes --no-aesni")

    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    unknown = [a for a in algos if a not in VARIANTS]
    if unknown:
        sys.exit(f"unsupported algorithm(s): {', '.join(unknown)} (choose from {', '.join(VARIANTS)})")
    if args.cpu is not None:
        # Children inherit the mask, so the phirig process runs on the same CPU.
        os.sched_setaffinity(0, {args.cpu})

    check_reference(args.vectors, set(algos))
    use_agent = agent_has_bench(args.agent)
    phirig_side = "phirig-agent bench" if use_agent else "hashloop"
    aes = "software AES on both sides; " if args.soft_aes else ""
    print(f"{aes}reference: py-cryptonight (Monero slow-hash C); phirig: {phirig_side}; "
          f"{args.rounds} round(s) x {args.seconds:g} s each side, 1 thread", flush=True)
    if "cn/r" in algos and os.environ.get("MONERO_USE_CNV4_JIT", "1") not in ("0", "no"):
        print("note: the reference runs cn/r's random math through its x86-64 JIT "
              "(set MONERO_USE_CNV4_JIT=0 for its interpreter)", flush=True)

    # Each round measures the two back to back, the order swapped every round (A B B A ...), so a
    # round's ratio compares the two under the same load from the machine's neighbours; the table
    # gives the median of each side, the median of the rounds' ratios (paired: robust to load that drifts between
    # rounds, which the medians of each side are not) and the best run of each (the least
    # disturbed, on a shared machine). A target counts as met when both medians meet it.
    results = []
    for algo in algos:
        ref, ours, ways = [], [], set()
        for r in range(args.rounds):
            if r % 2 == 0:
                ref.append(reference_rate(algo, args.seconds))
            hs, k = phirig_rate(algo, args.seconds, args.agent, args.hashloop, use_agent,
                                args.intensity, args.soft_aes)
            ours.append(hs)
            ways.add(k)
            if r % 2 == 1:
                ref.append(reference_rate(algo, args.seconds))
        r, p = statistics.median(ref), statistics.median(ours)
        rounds = [o / f for o, f in zip(ours, ref)]
        results.append({"algo": algo, "reference_hs": r, "phirig_hs": p, "ratio": p / r,
                        "paired_ratio": statistics.median(rounds),
                        "best_ratio": max(ours) / max(ref), "round_ratios": rounds,
                        "intensity": sorted(k for k in ways if k is not None),
                        "target": SOFT_AES_TARGET if args.soft_aes else TARGETS[algo], "reference_runs": ref, "phirig_runs": ours})
        print(f"  {algo}: reference {r:.2f} H/s, phirig {p:.2f} H/s (intensity "
              f"{'/'.join(str(k) for k in sorted(k for k in ways if k is not None)) or '?'}); "
              f"per round {' '.join(f'{x:.2f}' for x in rounds)}", flush=True)

    print()
    print(f"{'algo':<6} {'reference H/s':>14} {'phirig H/s':>11} {'ratio':>7} {'paired':>7} "
          f"{'best/best':>10} {'target':>7}  ok")
    for row in results:
        met = min(row["ratio"], row["paired_ratio"]) >= row["target"]
        ok = "yes" if met else "NO"
        print(f"{row['algo']:<6} {row['reference_hs']:>14.2f} {row['phirig_hs']:>11.2f} "
              f"{row['ratio']:>7.2f} {row['paired_ratio']:>7.2f} {row['best_ratio']:>10.2f} "
              f"{row['target']:>7.2f}  {ok}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
