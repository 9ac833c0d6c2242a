#!/usr/bin/env bash
# stop.sh stops the test server started by start.sh on $TESTSERVER_PORT
# (default 4080): TERM, then KILL after 10 seconds. Stopping a server that is
# not running is a no-op. TESTSERVER_CLEAN=1 also removes its data directory.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${TESTSERVER_CACHE:-$root/.cache/testserver}"
port="${TESTSERVER_PORT:-4080}"
pidfile="$cache/zincsearch-$port.pid"

if [[ -f "$pidfile" ]]; then
	pid="$(cat "$pidfile")"
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
		echo "testserver: stopped (pid $pid)"
	else
		echo "testserver: not running (stale pid file)"
	fi
	rm -f "$pidfile"
else
	echo "testserver: not running"
fi
if [[ "${TESTSERVER_CLEAN:-}" == "1" ]]; then rm -rf "$cache/data-$port"; fi
