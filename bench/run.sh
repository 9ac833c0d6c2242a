#!/usr/bin/env bash
# run.sh: the end-to-end benchmark behind `make bench`. See BENCHMARKS.md.
#
# It generates LINES platform log lines (default 1,000,000), builds auditship
# and the bench tools, then runs, interleaved in one session so that they
# share the machine's load: auditship --once into the null file output, into
# a real NDJSON file and into the embedded store; rsyslog, syslog-ng and
# Filebeat 7.17 (when their binaries are available) over the same file, each
# keeping only the audit lines and writing them as JSON to a file; on the
# Elasticsearch-API test server (ZincSearch, port ES_PORT, default 4090, so a
# test server on 4080 is left alone) a bare esutil.BulkIndexer loader and
# auditship; a follow-mode run at FOLLOW_RATE lines/s for FOLLOW_SECONDS
# into the embedded store; and a CPU profile of --once into the null output.
# It prints a table of measured values, peers as ratios to auditship, and
# each target with measured vs target and by how much it is missed.
#
# Environment: LINES, ROUNDS (repetitions of the interleaved backfill legs,
# default 2; the best round per leg is reported), FOLLOW_SECONDS (default 60),
# FOLLOW_RATE (default 5000), ES_PORT (default 4090), SKIP_ES=1, SKIP_PEERS=1,
# SKIP_FOLLOW=1. Peers are taken from .cache/bench (see bench/peers.sh).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
LINES="${LINES:-1000000}"
ROUNDS="${ROUNDS:-2}"
FOLLOW_SECONDS="${FOLLOW_SECONDS:-60}"
FOLLOW_RATE="${FOLLOW_RATE:-5000}"
ES_PORT="${ES_PORT:-4090}"
cache="$root/.cache/bench"
work="$cache/run"
bin="$work/bin"
results="$work/results.ndjson"
rm -rf "$work"
mkdir -p "$bin" "$work/out"
: >"$results"

log() { printf '== %s\n' "$*" >&2; }

log "building auditship and the bench tools"
# As make build does: with the committed PGO profile (bench/pgo.sh).
go build -trimpath -pgo=cmd/auditship/auditship.pgo -o "$bin/auditship" ./cmd/auditship
for t in gen measure follow esload profile; do go build -trimpath -o "$bin/$t" "./bench/$t"; done

log "generating $LINES lines"
"$bin/gen" -lines "$LINES" -out "$work/platform.log" -seed 1 >"$work/gen.json"
cat "$work/gen.json" >&2
AUDIT=$(jq -r .audit "$work/gen.json")
BYTES=$(jq -r .bytes "$work/gen.json")
logfile="$work/platform.log"
# Read the file once so that every leg starts with it in the page cache.
cat "$logfile" >/dev/null

# record NAME EXTRA_JSON: append measure's JSON line (stdin) with extra fields.
record() { jq -c --arg leg "$1" ". + {leg: \$leg} + $2" >>"$results"; }

mapping="$(cat bench/mapping.hcl)"

# auditship_config DIR OUTPUT_BLOCK: writes DIR/agent.hcl.
auditship_config() {
	mkdir -p "$1"
	cat >"$1/agent.hcl" <<HCL
data_dir = "$1/data"
http { listen = "" }
input "file" "platform" {
  paths    = ["$logfile"]
  start_at = "beginning"
$mapping
}
$2
HCL
}

# run_auditship LEG OUTPUT_BLOCK [extra JSON]
run_auditship() {
	local dir="$work/$1.$round"
	rm -rf "$dir"
	auditship_config "$dir" "$2"
	log "auditship --once: $1 (round $round)"
	"$bin/measure" -name auditship -- "$bin/auditship" agent --once --log-level warn --config "$dir/agent.hcl" |
		record "$1" "{round: $round, events: $AUDIT${3:+, $3}}"
}

run_rsyslog() {
	command -v rsyslogd >/dev/null || { log "rsyslog: not installed, skipped"; return; }
	local dir="$work/rsyslog.$round"
	rm -rf "$dir"; mkdir -p "$dir/state"
	cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/state" maxMessageSize="64k")
module(load="imfile")
module(load="mmjsonparse")
template(name="json" type="list") { property(name="\$!all-json") constant(value="\n") }
input(type="imfile" File="$logfile" Tag="platform" ruleset="platform" freshStartTail="off")
ruleset(name="platform") {
  action(type="mmjsonparse" cookie="")
  if \$parsesuccess == "OK" and \$!msg == "audit" then {
    action(type="omfile" file="$dir/out.json" template="json")
  }
}
CONF
	log "rsyslog (round $round)"
	"$bin/measure" -name rsyslog -until "$dir/out.json:$AUDIT" -timeout 15m -- \
		rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/state/pid" |
		record rsyslog "{round: $round, events: $AUDIT}" || log "rsyslog failed"
}

sng_root="$cache/syslog-ng/root"
run_syslogng() {
	[[ -x "$sng_root/usr/sbin/syslog-ng" ]] || { log "syslog-ng: not unpacked (bench/peers.sh), skipped"; return; }
	local dir="$work/syslog-ng.$round"
	rm -rf "$dir"; mkdir -p "$dir/state"
	cat >"$dir/syslog-ng.conf" <<CONF
@version: 3.38
options { stats-freq(0); };
source s_platform { file("$logfile" flags(no-parse) follow-freq(1) log-fetch-limit(1000) log-iw-size(10000)); };
parser p_json { json-parser(prefix(".json.")); };
filter f_audit { "\${.json.msg}" eq "audit" };
destination d_out { file("$dir/out.json" template("\$(format-json --key .json.* --rekey .json.* --shift 6)\n")); };
log { source(s_platform); parser(p_json); filter(f_audit); destination(d_out); };
CONF
	log "syslog-ng (round $round)"
	LD_LIBRARY_PATH="$sng_root/usr/lib/x86_64-linux-gnu:$sng_root/lib/x86_64-linux-gnu:$sng_root/usr/lib/syslog-ng" \
		"$bin/measure" -name syslog-ng -until "$dir/out.json:$AUDIT" -timeout 15m -- \
		"$sng_root/usr/sbin/syslog-ng" -F --no-caps -f "$dir/syslog-ng.conf" \
		--module-path "$sng_root/usr/lib/syslog-ng/3.38" \
		--persist-file "$dir/state/persist" --pidfile "$dir/state/pid" --control "$dir/state/ctl" |
		record syslog-ng "{round: $round, events: $AUDIT}" || log "syslog-ng failed"
}

fb="$cache/filebeat/filebeat"
run_filebeat() {
	[[ -x "$fb" ]] || { log "filebeat: not built (see .cache/bench/filebeat/build.log), skipped"; return; }
	local dir="$work/filebeat.$round"
	rm -rf "$dir"; mkdir -p "$dir/out"
	cat >"$dir/filebeat.yml" <<YML
filebeat.inputs:
  - type: filestream
    id: platform
    paths: ["$logfile"]
    parsers:
      - ndjson:
          target: ""
          add_error_key: true
    processors:
      - drop_event:
          when:
            not:
              equals:
                msg: "audit"
output.file:
  path: "$dir/out"
  filename: out.json
  rotate_every_kb: 10000000
path.data: "$dir/data"
path.logs: "$dir/logs"
logging.level: warning
logging.to_files: false
http.enabled: false
monitoring.enabled: false
YML
	log "filebeat (round $round)"
	"$bin/measure" -name filebeat -until "$dir/out/out.json:$AUDIT" -timeout 15m -- \
		"$fb" -c "$dir/filebeat.yml" --path.home "$dir" --strict.perms=false |
		record filebeat "{round: $round, events: $AUDIT}" || log "filebeat failed"
}

for round in $(seq 1 "$ROUNDS"); do
	run_auditship file-null 'output "file" "null" {
  path = "/dev/null"
}'
	[[ -n "${SKIP_PEERS:-}" ]] || run_rsyslog
	run_auditship sqlite 'output "sqlite" "store" {
  path = "audit.db"
}'
	[[ -n "${SKIP_PEERS:-}" ]] || run_syslogng
	run_auditship file-ndjson 'output "file" "ndjson" {
  path = "events.ndjson"
}'
	[[ -n "${SKIP_PEERS:-}" ]] || run_filebeat
done

# Check that every leg delivered every audit line.
check_count() { # NAME FILE_OR_COUNT
	if [[ "$2" != "$AUDIT" ]]; then log "WARNING: $1 delivered $2 events, want $AUDIT"; fi
}
check_count "auditship file output" "$(wc -l <"$work/file-ndjson.1/data/events.ndjson")"
check_count "auditship sqlite" "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$work/sqlite.1/data/audit.db")"

if [[ -z "${SKIP_ES:-}" ]]; then
	log "Elasticsearch leg: test server on 127.0.0.1:$ES_PORT"
	make -s testserver-build >&2
	export ES_PASSWORD="${TESTSERVER_PASSWORD:-auditship-test}"
	# Each loader gets a freshly started, empty server: ZincSearch goes on
	# indexing what it acknowledged for minutes after a bulk load, on the
	# same two cores, which would handicap whichever leg ran second.
	es_fresh() { TESTSERVER_PORT="$ES_PORT" TESTSERVER_FRESH=1 bash scripts/testserver/start.sh >&2; }
	es_stop() { TESTSERVER_PORT="$ES_PORT" bash scripts/testserver/stop.sh >&2 || true; }
	trap es_stop EXIT
	for round in $(seq 1 "$ROUNDS"); do
		es_fresh
		log "esload (round $round)"
		"$bin/esload" -in "$work/file-ndjson.1/data/events.ndjson" -url "http://127.0.0.1:$ES_PORT/es" \
			-user admin -index "esload$round-2026.11" | jq -c ". + {leg: \"esload\", round: $round}" >>"$results"
		es_stop
		es_fresh
		run_auditship elasticsearch "output \"elasticsearch\" \"es\" {
  addresses    = [\"http://127.0.0.1:$ES_PORT/es\"]
  username     = \"admin\"
  password_env = \"ES_PASSWORD\"
  index_prefix = \"auditship$round\"
}"
		es_stop
	done
	trap - EXIT
fi

if [[ -z "${SKIP_FOLLOW:-}" ]]; then
	log "follow mode: $FOLLOW_RATE lines/s for ${FOLLOW_SECONDS}s into the embedded store"
	dir="$work/follow"
	mkdir -p "$dir"
	: >"$dir/app.log"
	cat >"$dir/agent.hcl" <<HCL
data_dir = "$dir/data"
http { listen = "" }
input "file" "platform" {
  paths    = ["$dir/app.log"]
  start_at = "beginning"
$mapping
}
output "sqlite" "store" {
  path = "audit.db"
}
HCL
	"$bin/auditship" agent --log-level warn --config "$dir/agent.hcl" 2>"$dir/agent.log" &
	agent_pid=$!
	"$bin/follow" -out "$dir/app.log" -db "$dir/data/audit.db" -rate "$FOLLOW_RATE" -duration "${FOLLOW_SECONDS}s" |
		jq -c '. + {leg: "follow"}' >>"$results" || log "follow failed"
	kill -TERM "$agent_pid" 2>/dev/null || true
	wait "$agent_pid" || true
fi

log "CPU profile of --once into the null file output"
dir="$work/profile"
auditship_config "$dir" 'output "file" "null" {
  path = "/dev/null"
}'
"$bin/profile" -config "$dir/agent.hcl" -cpuprofile "$work/cpu.prof" -memprofile "$work/mem.prof" 2>&1 | tail -1 >&2
go tool pprof -top -nodecount 25 "$bin/profile" "$work/cpu.prof" 2>/dev/null >"$work/pprof-top.txt" || true
go tool pprof -top -cum -nodecount 25 "$bin/profile" "$work/cpu.prof" 2>/dev/null >"$work/pprof-cum.txt" || true

log "micro-benchmark: pipeline vs bare goccy/go-json decode"
go test -run '^$' -bench 'BenchmarkPipeline$|BenchmarkBareDecode' -benchtime 3x -count 3 ./bench/ >"$work/micro.txt" 2>&1 || true

python3 "$root/bench/report.py" "$results" "$work/micro.txt" "$LINES" "$AUDIT" "$BYTES" | tee "$work/report.txt"
