#!/usr/bin/env python3
"""report.py RESULTS MICRO LINES AUDIT BYTES: the table and target checks of
bench/run.sh. RESULTS holds one JSON line per leg and round (bench/measure,
esload, follow); MICRO is `go test -bench` output. For each leg the round with
the least CPU is reported (the machine is shared; the least disturbed round
is the best estimate of the leg's own cost). Peers are shown as ratios to the
auditship leg that does the same work in the same round."""
import json, re, sys

results_path, micro_path, lines, audit, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [json.loads(l) for l in open(results_path) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["leg"], []).append(r)

def best(leg):
    rs = [r for r in by.get(leg, []) if not r.get("timed_out")]
    if not rs:
        return None
    key = next((k for k in ("cpu_s", "seconds", "p99_ms") if k in rs[0]), None)
    return min(rs, key=lambda r: r[key]) if key else rs[0]

def same_round(leg, rnd):
    for r in by.get(leg, []):
        if r.get("round") == rnd:
            return r
    return None

M = 1_000_000
out = []
p = out.append
p(f"input: {lines} lines, {audit} audit lines, {nbytes/1e6:.1f} MB")
p("")
p("| leg | wall s | events/s | MB/s | CPU s (user+sys) | CPU s / 1M lines | CPU s / 1M events | peak RSS MiB | vs auditship (CPU, same round) |")
p("|---|---:|---:|---:|---:|---:|---:|---:|---|")
legs = [("file-null", "auditship --once → file output /dev/null", None),
        ("file-ndjson", "auditship --once → file output (NDJSON, fsync per batch)", None),
        ("sqlite", "auditship --once → embedded store (SQLite)", None),
        ("elasticsearch", "auditship --once → Elasticsearch API (ZincSearch)", None),
        ("rsyslog", "rsyslog 8 imfile+mmjsonparse → omfile", "file-ndjson"),
        ("syslog-ng", "syslog-ng 3.38 file+json-parser → file", "file-ndjson"),
        ("filebeat", "Filebeat 7.17 filestream+ndjson → file output", "file-ndjson")]
for leg, label, cmp in legs:
    r = best(leg)
    if r is None:
        p(f"| {label} | – | – | – | – | – | – | – | not run |")
        continue
    w = r["wall_s"]
    ratio = ""
    if cmp:
        a = same_round(cmp, r.get("round"))
        if a:
            ratio = f"{r['cpu_s']/a['cpu_s']:.2f}x CPU, {r['wall_s']/a['wall_s']:.2f}x wall, {r['max_rss_kib']/a['max_rss_kib']:.2f}x RSS (vs {cmp} round {r.get('round')})"
    p(f"| {label} | {w:.2f} | {audit/w:,.0f} | {nbytes/1e6/w:.1f} | {r['cpu_s']:.2f} | {r['cpu_s']*M/lines:.2f} | {r['cpu_s']*M/audit:.2f} | {r['max_rss_kib']/1024:.1f} | {ratio} |")
e = best("esload")
if e:
    p(f"| bare esutil.BulkIndexer loader (documents prebuilt) | {e['seconds']:.2f} | {e['docs_per_s']:,.0f} | – | – | – | – | – | acked {e['acked']}, failed {e['failed']} |")
f = best("follow")
p("")
if f:
    p(f"follow mode: {f['lines']} lines at {f['rate_lines_per_s']:.0f} lines/s, {f['audit']} audit lines, {f['seen']} seen in the store; "
      f"write-to-queryable p50 {f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms")

# Micro-benchmarks: best ns/line of each.
micro = {}
for l in open(micro_path):
    m = re.match(r"^(Benchmark\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) ns/line", l)
    if m:
        micro[m.group(1)] = min(micro.get(m.group(1), 1e18), float(m.group(3)))
pipe, goccy = micro.get("BenchmarkPipeline"), micro.get("BenchmarkBareDecode/goccy_struct")
if pipe and goccy:
    p(f"micro: decode+map+schema {pipe:.0f} ns/line; bare goccy/go-json decode into a struct of the mapped fields {goccy:.0f} ns/line, "
      f"into map[string]any {micro.get('BenchmarkBareDecode/goccy', 0):.0f} ns/line; "
      f"encoding/json into map[string]any {micro.get('BenchmarkBareDecode/encoding_json', 0):.0f} ns/line")

p("")
p("| target | measured | target | result |")
p("|---|---:|---:|---|")
def le(name, v, t, unit):
    if v is None:
        p(f"| {name} | – | ≤ {t}{unit} | not measured |"); return
    res = "met" if v <= t else f"MISSED by {v-t:.2f}{unit} ({(v/t-1)*100:.0f}% over)"
    p(f"| {name} | {v:.2f}{unit} | ≤ {t}{unit} | {res} |")
def ge(name, v, t, unit):
    if v is None:
        p(f"| {name} | – | ≥ {t}{unit} | not measured |"); return
    res = "met" if v >= t else f"MISSED by {t-v:.2f}{unit}"
    p(f"| {name} | {v:.2f}{unit} | ≥ {t}{unit} | {res} |")
fn, sq, es = best("file-null"), best("sqlite"), best("elasticsearch")
le("CPU s per 1M lines, tail→parse→map→validate→file output", fn and fn["cpu_s"]*M/lines, 5, " s")
le("CPU s per 1M lines, into the embedded store", sq and sq["cpu_s"]*M/lines, 8, " s")
le("parse+map+validate vs bare goccy/go-json decode into a struct", pipe and goccy and pipe/goccy, 3, "x")
ge("ES bulk-acknowledged rate vs bare BulkIndexer", es and e and (audit/es["wall_s"])/e["docs_per_s"]*100, 90, "%")
rss = [r["max_rss_kib"]/1024 for r in (fn, sq) if r]
le("peak RSS, 1M-line backfill (max of file and store legs)", max(rss) if rss else None, 48, " MiB")
le("follow-mode write-to-queryable p99", f and f["p99_ms"]/1000, 2, " s")
# The 5 CPU-s target is "i.e. at least 2x more efficient than syslog-ng doing
# the same JSON work, and 5x Filebeat": peers as ratios, same round.
def peer_ratio(peer):
    r = best(peer)
    a = r and same_round("file-ndjson", r.get("round"))
    return r["cpu_s"] / a["cpu_s"] if a else None
ge("syslog-ng CPU ÷ auditship file-output CPU (same round)", peer_ratio("syslog-ng"), 2, "x")
ge("Filebeat CPU ÷ auditship file-output CPU (same round)", peer_ratio("filebeat"), 5, "x")
sn = best("syslog-ng")
if sn and fn and sq:
    # The issue sized its absolute targets on a machine where syslog-ng
    # took 10.3 CPU-s per 1M lines; scale by this machine's syslog-ng.
    k = 10.3 / (sn["cpu_s"] * M / lines)
    p("")
    p(f"scaled to the issue's machine (syslog-ng 10.3 CPU-s there, {sn['cpu_s']*M/lines:.1f} here: factor {k:.2f}): "
      f"file output {fn['cpu_s']*M/lines*k:.1f} CPU-s per 1M lines (target 5), embedded store {sq['cpu_s']*M/lines*k:.1f} (target 8)")
print("\n".join(out))
