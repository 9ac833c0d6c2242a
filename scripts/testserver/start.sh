#!/usr/bin/env bash
# start.sh starts the Elasticsearch-API test server (ZincSearch, built by
# build.sh) in the background on 127.0.0.1:$TESTSERVER_PORT (default 4080),
# with its data under .cache/testserver/data-<port>, waits until GET /es/
# answers (at most $TESTSERVER_WAIT seconds, default 60), writes the pid file
# and prints the ELASTICSEARCH_URL to use. Starting a server that already
# answers is a no-op. TESTSERVER_FRESH=1 wipes the data directory first.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${TESTSERVER_CACHE:-$root/.cache/testserver}"
port="${TESTSERVER_PORT:-4080}"
user="${TESTSERVER_USER:-admin}"
password="${TESTSERVER_PASSWORD:-auditship-test}"
wait_s="${TESTSERVER_WAIT:-60}"
bin="$cache/bin/zincsearch"
data="$cache/data-$port"
pidfile="$cache/zincsearch-$port.pid"
logfile="$cache/zincsearch-$port.log"
url="http://$user:$password@127.0.0.1:$port/es"

answers() {
	curl -fsS -o /dev/null --max-time 2 -u "$user:$password" "http://127.0.0.1:$port/es/" 2>/dev/null
}

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answers; then
	echo "testserver: already running (pid $(cat "$pidfile"))"
	echo "ELASTICSEARCH_URL=$url"
	exit 0
fi
if answers; then
	echo "testserver: something else already answers on 127.0.0.1:$port" >&2
	exit 1
fi

[[ -x "$bin" ]] || "$root/scripts/testserver/build.sh"

if [[ "${TESTSERVER_FRESH:-}" == "1" ]]; then rm -rf "$data"; fi
mkdir -p "$data"

ZINC_FIRST_ADMIN_USER="$user" \
ZINC_FIRST_ADMIN_PASSWORD="$password" \
ZINC_DATA_PATH="$data" \
ZINC_SERVER_ADDRESS=127.0.0.1 \
ZINC_SERVER_PORT="$port" \
ZINC_TELEMETRY=false \
ZINC_PROMETHEUS_ENABLE=false \
GIN_MODE=release \
	nohup "$bin" >"$logfile" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"

deadline=$(( $(date +%s) + wait_s ))
until answers; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "testserver: exited during start; last log lines:" >&2
		tail -n 20 "$logfile" >&2
		rm -f "$pidfile"
		exit 1
	fi
	if (( $(date +%s) >= deadline )); then
		echo "testserver: no answer on 127.0.0.1:$port after ${wait_s}s; see $logfile" >&2
		kill "$pid" 2>/dev/null || true
		rm -f "$pidfile"
		exit 1
	fi
	sleep 0.2
done
echo "testserver: running (pid $pid, data $data, log $logfile)"
echo "ELASTICSEARCH_URL=$url"
