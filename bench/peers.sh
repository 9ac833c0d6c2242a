#!/usr/bin/env bash
# peers.sh installs the shippers bench/run.sh compares auditship with, once,
# under .cache/bench (idempotent; each step is skipped when already done):
#   - rsyslog from Debian (apt-get install; it is run in the foreground with
#     its own config and state directory, never as the system service);
#   - syslog-ng 3.38 from Debian, unpacked with dpkg -x (it conflicts with
#     rsyslog as a package) and run with LD_LIBRARY_PATH;
#   - Filebeat 7.17.29 built from the Go module proxy in a throwaway module.
#     The build is given PEER_BUILD_TIMEOUT seconds (default 900); when it
#     fails or runs out of time, Filebeat is skipped and build.log says why.
# Failures are reported and skipped: run.sh runs whichever peers exist.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/bench"
mkdir -p "$cache"
log() { printf '== peers: %s\n' "$*" >&2; }

if ! command -v rsyslogd >/dev/null; then
	log "installing rsyslog (apt-get)"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsyslog; } >"$cache/apt-rsyslog.log" 2>&1 ||
		log "rsyslog install failed, see $cache/apt-rsyslog.log"
fi

sng="$cache/syslog-ng"
if [[ ! -x "$sng/root/usr/sbin/syslog-ng" ]]; then
	log "downloading and unpacking syslog-ng-core and its libraries (apt-get download, dpkg -x)"
	mkdir -p "$sng/debs"
	(cd "$sng/debs" && for p in syslog-ng-core libivykis0 libnet1 libwrap0 libpcre3; do
		apt-get download "$p" >/dev/null 2>&1 || log "apt-get download $p failed"
	done)
	for d in "$sng"/debs/*.deb; do dpkg -x "$d" "$sng/root"; done
fi

fb="$cache/filebeat"
if [[ ! -x "$fb/filebeat" ]]; then
	log "building Filebeat 7.17.29 from the module proxy (at most ${PEER_BUILD_TIMEOUT:-900}s)"
	mkdir -p "$fb"
	cp "$root/bench/filebeat/main.go.txt" "$fb/main.go"
	cp "$root/bench/filebeat/go.mod.txt" "$fb/go.mod"
	start=$(date +%s)
	(cd "$fb" && GOFLAGS=-mod=mod timeout "${PEER_BUILD_TIMEOUT:-900}" \
		bash -c 'go mod tidy && go build -o filebeat .') >"$fb/build.log" 2>&1
	rc=$?
	echo "rc=$rc seconds=$(( $(date +%s) - start ))" >>"$fb/build.log"
	if [[ $rc -ne 0 ]]; then
		rm -f "$fb/filebeat"
		log "Filebeat build failed or timed out (rc=$rc); it is skipped. See $fb/build.log"
	fi
fi
exit 0
