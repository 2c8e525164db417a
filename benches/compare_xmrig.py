"""phirig-agent against xmrig at its best ways, both mining from one loopback pool, in paired rounds.

Run through compare_reference.sh --xmrig PATH, which builds the release binaries. xmrig is never
built here: pass the path of one you built yourself (v6.26.0, donation level 0 in your copy).

For each algorithm and thread count: first every xmrig way count (1-5, through an explicit
per-algorithm thread list, which also enables cn/0 and cn-lite/0 that xmrig ships disabled) is
measured once, in an order that alternates direction per sweep; the best of the sweep is then
paired with phirig's automatic setting in A B B A rounds. A rate is the mean of the miner's own
10-second rate (`hashrate.total[0]` of `/2/summary`, the same field on both) sampled over the
measured window, after a warm-up; both miners mine the same pool's jobs at a difficulty at which
shares are rare, so the figure is the hashing loop, not the share path.

With --together, the one-thread rows run both miners at the same time instead, phirig on one CPU
(through taskset) and xmrig on the other, the two swapping every round: on a machine whose speed
swings between periods, both then see the same period. rx/0 then holds two datasets at once
(about 2400 huge pages of 2 MiB). It is fair only where the two take the same share of the shared
L3: rx/0, or a CryptoNight variant at which xmrig's best ways equal phirig's. At unequal ways it
disagrees with the rounds one after the other (benches/README.md).

With --resident, both miners start once per row, each with a loopback API token, and every round
resumes one of them, waits until its 10 s window holds only hashing since the resume (at least
11 s), measures it and pauses it again through the JSON-RPC `pause`/`resume` both miners take.
The rounds keep the A B B A order and the same CPUs at every thread count, and cost no start-up:
for rx/0 no dataset is built per round, so many more paired rounds fit in one period of the
machine (two datasets are held at once, about 2400 huge pages of 2 MiB).

The last column is each issue's target for phirig ÷ xmrig: 1.30 for CryptoNight, 1.0 for rx/0.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

# Heights for the variants whose hash depends on one (cn/r's random program).
HEIGHTS = {"cn/r": 1806260}
# RandomX has no ways to sweep: one hash per thread, all threads on one shared dataset.
RANDOMX = "rx/0"
DEFAULT_ALGOS = "cn/0,cn/1,cn/2,cn/r,cn/half,cn/ccx,cn-lite/1,cn-pico,cn/upx2,cn-heavy/0"
# What each issue asks of phirig ÷ xmrig: 1.30 for CryptoNight (issue 22), 1.0 for rx/0 (23).
TARGETS = {RANDOMX: 1.0}
CN_TARGET = 1.30
# The API token both miners get, so --resident can pause and resume them (loopback only).
TOKEN = "phirig-bench-c0ntrol"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=2.0, body=None):
    """GET `url`, or POST `body` as JSON to it, with TOKEN; the reply as JSON."""
    # xmrig answers nothing, not even a GET, without the token once it has one.
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def wait_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Pool:
    """`phirig pool serve` for one algorithm, at a difficulty no 2-core machine reaches often."""

    def __init__(self, phirig, algo, difficulty):
        self.port = free_port()
        cmd = [phirig, "pool", "serve", "--bind", f"127.0.0.1:{self.port}", "--algo", algo,
               "--difficulty", str(difficulty)]
        if algo in HEIGHTS:
            cmd += ["--height", str(HEIGHTS[algo])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, time.monotonic() + 20):
            stop(self.proc)
            sys.exit(f"the pool did not listen: {' '.join(cmd)}")

    def close(self):
        stop(self.proc)


def measure(cmd, api_port, warmup, seconds, cwd=None):
    """Mean of the 10 s rate sampled once a second over `seconds`, after `warmup` s of hashing."""
    return measure_together([(cmd, api_port, cwd)], warmup, seconds)[0]


def measure_together(miners, warmup, seconds):
    """Starts every (cmd, api_port, cwd) at once; once all hash, waits `warmup` s and samples each
    one's 10 s rate once a second over the same `seconds`. Returns the means."""
    with Running(miners) as running:
        time.sleep(max(0.0, max(running.started) + warmup - time.monotonic()))
        return sample_rates(running.urls, seconds)


class Running:
    """Miners started together, each (cmd, api_port, cwd); entered once every one of them hashes
    (rx/0 builds a 2 GiB dataset first), left by stopping them all."""

    def __init__(self, miners):
        self.miners = miners
        self.urls = [f"http://127.0.0.1:{port}" for _, port, _ in miners]
        self.started = [None] * len(miners)
        self.procs = []
        self.logs = []

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        for cmd, _, cwd in self.miners:
            log = tempfile.TemporaryFile()
            self.logs.append(log)
            self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd))
        deadline = time.monotonic() + 240
        # Warm-up counts from the first hash, not from the start: page allocation and the
        # login differ between the two miners and must not count against either.
        while None in self.started and time.monotonic() < deadline:
            for i, (proc, url) in enumerate(zip(self.procs, self.urls)):
                if self.started[i] is not None or proc.poll() is not None:
                    continue
                if rate_now(url):
                    self.started[i] = time.monotonic()
            time.sleep(0.5)
        for i, log in enumerate(self.logs):
            if self.started[i] is None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"no hash rate from {' '.join(self.miners[i][0])}:\n{tail}")

    def __exit__(self, *exc):
        for proc in self.procs:
            stop(proc)
        for log in self.logs:
            log.close()

    def control(self, i, method):
        """xmrig's JSON-RPC control call (`pause`, `resume`) on miner `i`, with TOKEN."""
        reply = get_json(self.urls[i] + "/json_rpc", timeout=5,
                         body={"id": 1, "jsonrpc": "2.0", "method": method})
        if "error" in reply:
            raise RuntimeError(f"{method} on {self.miners[i][0][0]}: {reply['error']}")


def rate_now(url):
    """The miner's 10 s rate now, or None while it has none (or does not answer yet)."""
    try:
        return get_json(url + "/2/summary")["hashrate"]["total"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def sample_rates(urls, seconds):
    """Each miner's 10 s rate, sampled once a second over `seconds`: their means."""
    samples = [[] for _ in urls]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1.0)
        for url, got in zip(urls, samples):
            rate = rate_now(url)
            if rate:
                got.append(float(rate))
    for url, got in zip(urls, samples):
        if not got:
            raise RuntimeError(f"{url} gave no rate while measured")
    return [statistics.mean(got) for got in samples]


def phirig_cmd(agent, pool, algo, threads, api_port):
    return [agent, "-o", f"127.0.0.1:{pool.port}", "-u", "bench", "-a", algo, "-t", str(threads),
            "--http-port", str(api_port), "--http-access-token", TOKEN, "--print-time", "3600",
            "--no-journal"]


def xmrig_config(path, pool, algo, threads, ways, api_port, cpus=None):
    key = "rx" if algo == RANDOMX else algo
    cpus = list(range(threads)) if cpus is None else cpus
    cpu = {"enabled": True, "huge-pages": True, "hw-aes": None, "asm": True, "priority": None,
           "yield": True, key: [[ways, cpu_id] for cpu_id in cpus]}
    config = {
        "autosave": False, "background": False, "colors": False, "donate-level": 0,
        "donate-over-proxy": 0, "print-time": 3600, "health-print-time": 3600,
        "http": {"enabled": True, "host": "127.0.0.1", "port": api_port, "access-token": TOKEN,
                 "restricted": False},
        "opencl": False, "cuda": False, "cpu": cpu,
        # Full dataset, built on every core, on 2 MiB pages; xmrig's MSR tweaks where it may.
        "randomx": {"init": -1, "mode": "fast", "1gb-pages": False, "rdmsr": True, "wrmsr": True,
                    "numa": True},
        "pools": [{"url": f"127.0.0.1:{pool.port}", "user": "bench", "pass": "x", "algo": algo,
                   "keepalive": False, "tls": False}],
    }
    with open(path, "w") as f:
        json.dump(config, f)


def xmrig_cmd(args, config):
    return [args.xmrig, "--config", config, "--no-color"]


def run_xmrig(args, pool, algo, threads, ways, workdir):
    api = free_port()
    config = os.path.join(workdir, f"xmrig-{threads}-{ways}.json")
    xmrig_config(config, pool, algo, threads, ways, api)
    return measure(xmrig_cmd(args, config), api, args.warmup, args.seconds, cwd=workdir)


def run_phirig(args, pool, algo, threads):
    api = free_port()
    return measure(phirig_cmd(args.agent, pool, algo, threads, api), api, args.warmup, args.seconds)


def run_together(args, pool, algo, ways, workdir, phirig_cpu, xmrig_cpu):
    """One thread each, at the same time, on two CPUs: both see the same period of the machine.
    phirig runs under taskset (its worker pins within it), xmrig's thread list names its CPU."""
    api_p, api_x = free_port(), free_port()
    config = os.path.join(workdir, f"xmrig-together-{ways}.json")
    xmrig_config(config, pool, algo, 1, ways, api_x, cpus=[xmrig_cpu])
    ours = ["taskset", "-c", str(phirig_cpu)] + phirig_cmd(args.agent, pool, algo, 1, api_p)
    theirs = ["taskset", "-c", str(xmrig_cpu)] + xmrig_cmd(args, config)
    return measure_together([(ours, api_p, None), (theirs, api_x, workdir)], args.warmup,
                            args.seconds)


def run_fresh(args, pool, algo, threads, ways, workdir):
    """Each round starts the miners afresh: one after the other, A B B A, or with --together at
    one thread both at once. Returns (phirig rates, xmrig rates)."""
    together = args.together and threads == 1
    cpus = sorted(os.sched_getaffinity(0))[:2]
    ours, theirs = [], []
    for r in range(args.rounds):
        if together:
            # The two CPUs swap every round, so neither miner keeps the better core.
            first, second = cpus if r % 2 == 0 else cpus[::-1]
            mine, other = run_together(args, pool, algo, ways, workdir, first, second)
        else:
            pair = {}
            for side in (("phirig", "xmrig") if r % 2 == 0 else ("xmrig", "phirig")):
                if side == "phirig":
                    pair[side] = run_phirig(args, pool, algo, threads)
                else:
                    pair[side] = run_xmrig(args, pool, algo, threads, ways, workdir)
            mine, other = pair["phirig"], pair["xmrig"]
        ours.append(mine)
        theirs.append(other)
    return ours, theirs


def run_resident(args, pool, algo, threads, ways, workdir):
    """Both miners started once and kept: each round resumes one, measures it and pauses it
    again, A B B A. No dataset is built twice, so rx/0 rounds cost seconds, not a minute, and
    many more fit in one period of the machine. Returns (phirig rates, xmrig rates)."""
    api_p, api_x = free_port(), free_port()
    config = os.path.join(workdir, f"xmrig-resident-{threads}-{ways}.json")
    xmrig_config(config, pool, algo, threads, ways, api_x)
    miners = [(phirig_cmd(args.agent, pool, algo, threads, api_p), api_p, None),
              (xmrig_cmd(args, config), api_x, workdir)]
    # The 10 s window must hold nothing from before the resume.
    settle = max(args.warmup, 11.0)
    got = ([], [])
    with Running(miners) as running:
        for i in (0, 1):
            running.control(i, "pause")
        for r in range(args.rounds):
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                running.control(i, "resume")
                time.sleep(settle)
                got[i].append(sample_rates([running.urls[i]], args.seconds)[0])
                running.control(i, "pause")
    return got


def compare(args, algo, threads, workdir):
    pool = Pool(args.phirig, algo, args.difficulty)
    try:
        sweep = {}
        order = [1] if algo == RANDOMX else list(range(1, 6))
        for r in range(args.sweeps):
            for ways in (order if r % 2 == 0 else order[::-1]):
                try:
                    rate = run_xmrig(args, pool, algo, threads, ways, workdir)
                except RuntimeError as e:
                    # A way count xmrig refuses (its self-test, say) is not its best; say so, go on.
                    print(f"  {algo} x{threads}: xmrig at {ways} ways gave no rate: "
                          f"{str(e).splitlines()[0]}", flush=True)
                    rate = 0.0
                sweep.setdefault(ways, []).append(rate)
        best_ways = max(sweep, key=lambda w: statistics.median(sweep[w]))
        pairing = run_resident if args.resident else run_fresh
        ours, theirs = pairing(args, pool, algo, threads, best_ways, workdir)
        ratios = [a / b for a, b in zip(ours, theirs)]
        return {"algo": algo, "threads": threads, "xmrig_ways": best_ways,
                "xmrig_sweep": {w: [round(x, 1) for x in v] for w, v in sweep.items()},
                "phirig_runs": ours, "xmrig_runs": theirs, "ratios": ratios,
                "paired_ratio": statistics.median(ratios)}
    finally:
        pool.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xmrig", required=True, help="an xmrig 6.26 binary you built")
    parser.add_argument("--agent", required=True, help="release phirig-agent")
    parser.add_argument("--phirig", required=True, help="release phirig (its `pool serve`)")
    parser.add_argument("--algos", default=DEFAULT_ALGOS)
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=4, help="paired rounds (A B B A ...)")
    parser.add_argument("--sweeps", type=int, default=1, help="xmrig sweeps over ways 1-5")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds after the first hash")
    parser.add_argument("--difficulty", type=int, default=1_000_000)
    parser.add_argument("--target", type=float,
                        help=f"phirig / xmrig to meet (default {CN_TARGET}, rx/0 1.0)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--together", action="store_true",
                        help="one-thread rows: run both miners at once on the first two CPUs "
                             "(swapped each round) instead of one after the other")
    parser.add_argument("--resident", action="store_true",
                        help="start both miners once and pause and resume them for each round "
                             "instead of starting them afresh (rx/0: two datasets at once)")
    args = parser.parse_args()
    if not os.access(args.xmrig, os.X_OK):
        sys.exit(f"{args.xmrig} is not an executable xmrig")
    if args.together and args.resident:
        sys.exit("--together and --resident are two ways of pairing rounds: pick one")
    if args.together and len(os.sched_getaffinity(0)) < 2:
        sys.exit("--together runs the two miners on two CPUs; this process may use one")

    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="phirig-xmrig-") as workdir:
        for algo in algos:
            for t in threads:
                row = compare(args, algo, t, workdir)
                results.append(row)
                print(f"  {algo} x{t}: xmrig sweep {row['xmrig_sweep']}; rounds (phirig, xmrig) "
                      f"{[(round(a, 1), round(b, 1)) for a, b in zip(row['phirig_runs'], row['xmrig_runs'])]}",
                      flush=True)

    print()
    print(f"{'algo':<11} {'thr':>3} {'phirig H/s':>11} {'xmrig H/s':>10} {'ways':>4} "
          f"{'paired':>7} {'target':>6}")
    for row in results:
        target = args.target or TARGETS.get(row["algo"], CN_TARGET)
        row["target"] = target
        ok = "met" if row["paired_ratio"] >= target else "NO"
        print(f"{row['algo']:<11} {row['threads']:>3} {statistics.median(row['phirig_runs']):>11.1f} "
              f"{statistics.median(row['xmrig_runs']):>10.1f} {row['xmrig_ways']:>4} "
              f"{row['paired_ratio']:>7.3f} {target:>6.2f} {ok}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
