#!/usr/bin/env bash
# Three proxies sharing the control plane, measured: the end-to-end control tests (real
# processes; the partition tests need root for network namespaces) run RUNS times (default 3)
# and the figures they print are gathered into one table (min / median / max over runs):
# leader election after the leader proxy's SIGKILL, write outage for a primary SIGKILLed and
# for one frozen 3 s (SIGSTOP), how soon a proxy cut off from the quorum refuses writes (the
# lease), how soon the majority fails over a primary it no longer reaches, and what
# asynchronous mode loses in that partition.
#
#   bench/proxies.sh [RUNS]        # PROFILE=debug bench/proxies.sh 1 for a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
profile=(--release)
[ "${PROFILE:-release}" = debug ] && profile=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
tests=(
  the_leader_proxy_dies_without_a_client_error_then_a_dead_primary_is_replaced
  writers_on_every_proxy_outlive_a_frozen_primary_by_the_failover_time_only
  partition::
)
for run in $(seq "$runs"); do
  for t in "${tests[@]}"; do
    cargo test "${profile[@]}" --test control "$t" -- --nocapture --test-threads 1 \
      >>"$log" 2>&1 || echo "run $run: $t failed" >&2
  done
done
grep -A3 "panicked at" "$log" >&2 || true
python3 - "$log" "$runs" <<'EOF'
import re, statistics, sys

text = open(sys.argv[1]).read()
runs = sys.argv[2]
unit = {"s": 1000.0, "ms": 1.0, "µs": 0.001, "ns": 0.000001}
dur = r"([0-9.]+)(s|ms|µs|ns)"

def ms(match):
    return float(match[0]) * unit[match[1]]

rows = [
    ("leader election after the leader proxy's SIGKILL", r"new leader after " + dur),
    ("write outage, primary SIGKILL (clients of the other proxies)", r"^write outage " + dur + r"$"),
    ("write outage, primary SIGSTOP 3 s (each proxy)", r"write outage " + dur + r" under a 3 s pause"),
    ("cut-off proxy refuses writes (lease 400 ms)", r"cut-off proxy refuses writes after " + dur),
    ("majority fails over a primary it cannot reach", r"the majority routes to the promoted standby " + dur),
    ("healed proxy takes writes again", r"the healed proxy takes writes " + dur),
]
print(f"3 proxies, {runs} run(s)")
print(f"{'figure':<62} {'n':>3} {'min ms':>8} {'median':>8} {'max ms':>8}")
for name, pattern in rows:
    values = [ms(m) for m in re.findall(pattern, text, re.M)]
    if not values:
        print(f"{name:<62} {0:>3} {'-':>8} {'-':>8} {'-':>8}")
        continue
    print(f"{name:<62} {len(values):>3} {min(values):>8.0f} "
          f"{statistics.median(values):>8.0f} {max(values):>8.0f}")
lost = re.findall(r"asynchronous mode: (\d+) of (\d+) acknowledged writes lost, acknowledged up to " + dur, text)
for n, total, *window in lost:
    print(f"asynchronous mode, primary cut off with one proxy: {n} of {total} acknowledged "
          f"writes lost, the last acknowledged {ms(window):.0f} ms after the cut")
for kept in re.findall(r"synchronous mode: all (\d+) acknowledged writes kept", text):
    print(f"synchronous mode, same partition: 0 of {kept} acknowledged writes lost")
EOF
