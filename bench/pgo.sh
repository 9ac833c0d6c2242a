#!/usr/bin/env bash
# pgo.sh: writes cmd/auditship/auditship.pgo, the CPU profile that `make
# build` (and `make bench`) compile the agent with: Go's profile-guided
# optimization (https://go.dev/doc/pgo) inlines and lays out the functions
# that are hot in it.
#
# The profile is of `auditship agent --once` (bench/profile runs the agent
# in-process as the command does) over LINES lines of bench/gen's platform
# logs (default 1,000,000, seed 1), once per output the agent mostly runs
# with: the null file output, an NDJSON file and the embedded store; the three
# CPU profiles are merged with `go tool pprof -proto`. Run it again (`make
# pgo`) after a change to the hot path; a stale profile costs only some of
# the gain, never correctness.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
LINES="${LINES:-1000000}"
work="$root/.cache/bench/pgo"
bin="$work/bin"
out="$root/cmd/auditship/auditship.pgo"
rm -rf "$work"
mkdir -p "$bin"

log() { printf '== %s\n' "$*" >&2; }

log "building the bench tools (without PGO: the profile is of plain code)"
go build -trimpath -o "$bin/gen" ./bench/gen
go build -trimpath -o "$bin/profile" ./bench/profile

log "generating $LINES lines"
"$bin/gen" -lines "$LINES" -out "$work/platform.log" -seed 1 >/dev/null

profiles=()
for leg in null ndjson sqlite; do
	dir="$work/$leg"
	mkdir -p "$dir"
	case $leg in
	null) output='output "file" "null" { path = "/dev/null" }' ;;
	ndjson) output='output "file" "ndjson" { path = "events.ndjson" }' ;;
	sqlite) output='output "sqlite" "store" { path = "audit.db" }' ;;
	esac
	cat >"$dir/agent.hcl" <<HCL
data_dir = "$dir/data"
http { listen = "" }
input "file" "platform" {
  paths    = ["$work/platform.log"]
  start_at = "beginning"
$(cat bench/mapping.hcl)
}
$output
HCL
	log "profiling --once into the $leg output"
	"$bin/profile" -config "$dir/agent.hcl" -cpuprofile "$dir/cpu.prof"
	profiles+=("$dir/cpu.prof")
done

go tool pprof -proto "${profiles[@]}" >"$out" 2>/dev/null
log "wrote $out ($(wc -c <"$out") bytes)"
rm -rf "$work"
