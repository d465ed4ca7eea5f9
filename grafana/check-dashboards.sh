#!/usr/bin/env bash
# Proves the shipped dashboards against a real Prometheus: starts a cluster (`redoubt up` on free
# ports, writing its prometheus.yml), starts Prometheus scraping it every second, drives traffic
# (writes, reads, misses, an error, keys with a TTL) and one planned failover, then sends every
# PromQL expression of every panel of grafana/dashboards/*.json to Prometheus's HTTP API and
# checks that it is accepted and returns data. Prints `N passed, M failed`; exits non-zero on a
# failure.
#
# Needs: prometheus (Debian package `prometheus`), curl, python3. REDOUBT=path/to/redoubt skips
# the build.
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || echo /usr/bin/prometheus)}
if [[ ! -x $PROMETHEUS ]]; then
  echo "prometheus not found (apt-get install prometheus)" >&2
  exit 1
fi
if [[ -z ${REDOUBT:-} ]]; then
  cargo build --quiet --bin redoubt
  REDOUBT="${CARGO_TARGET_DIR:-target}/debug/redoubt"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/redoubt-dashboards.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# `redoubt up` with 2 groups of 2 uses 10 consecutive ports: proxy, 4 nodes, admin, 4 metrics.
find_ports() {
  local count=$1 base p ok
  for _ in $(seq 50); do
    # Below the ephemeral range (32768+), so no outgoing connection takes one meanwhile.
    base=$((20000 + RANDOM % 12000))
    ok=1
    for ((p = base; p < base + count; p++)); do
      port_free "$p" || { ok=0; break; }
    done
    if ((ok)); then echo "$base"; return; fi
  done
  echo "no free ports" >&2
  exit 1
}

base=$(find_ports 10)
admin=$((base + 5))
prom_port=$(find_ports 1)
while ((prom_port >= base && prom_port < base + 10)); do prom_port=$(find_ports 1); done

"$REDOUBT" up --port "$base" --dir "$work/up" --prometheus-config "$work/prometheus.yml" \
  >"$work/up.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q "Press Ctrl-C" "$work/up.log" && break
  sleep 0.1
done
grep -q "Press Ctrl-C" "$work/up.log" || { cat "$work/up.log" >&2; echo "redoubt up did not start" >&2; exit 1; }
sed -i 's/scrape_interval: 5s/scrape_interval: 1s/; s/evaluation_interval: 5s/evaluation_interval: 1s/' \
  "$work/prometheus.yml"

"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prom_port"
for _ in $(seq 100); do
  curl -fs "$api/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "$api/-/ready" >/dev/null || { tail -20 "$work/prometheus.log" >&2; exit 1; }

# Traffic through the proxy as inline commands over a plain TCP connection.
traffic() {
  local i=0
  while :; do
    {
      for ((j = 0; j < 50; j++)); do
        printf 'SET key:%d %d\r\nGET key:%d\r\nGET missing:%d\r\nSET ttl:%d v EX 2\r\nMGET key:1 key:2 key:3\r\n' \
          "$j" "$i" "$j" "$j" "$j"
      done
      printf 'SET word abc\r\nINCR word\r\nQUIT\r\n'
    } | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$base; cat >&3; cat <&3 >/dev/null" || true
    i=$((i + 1))
    sleep 0.2
  done
}
traffic &
pids+=($!)

# Let Prometheus see traffic on the old topology, then fail over group g0.
sleep 5
"$REDOUBT" ctl --admin "127.0.0.1:$admin" failover g0
sleep 8

python3 - "$api" grafana/dashboards/*.json <<'EOF'
import json, sys, urllib.parse, urllib.request

api, files = sys.argv[1], sys.argv[2:]
passed = failed = 0

def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))

for path in files:
    with open(path) as f:
        dashboard = json.load(f)
    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            url = f"{api}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    body = json.load(response)
                ok = body.get("status") == "success" and len(body["data"]["result"]) > 0
                why = "no data" if not ok else ""
            except urllib.error.HTTPError as err:
                ok, why = False, json.load(err).get("error", str(err))
            except Exception as err:  # noqa: BLE001 - report whatever went wrong
                ok, why = False, str(err)
            name = f"{path.split('/')[-1]} / {panel.get('title')} / {target.get('refId')}"
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {name}: {why}\n     {expr}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
EOF
