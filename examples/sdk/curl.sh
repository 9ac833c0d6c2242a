#!/usr/bin/env bash
# Read every audit event matching a filter from GET /audit-logs with curl,
# following the X-Next-Cursor header from page to page.
#
#   export AUDITSHIP_SUPERADMIN_KEY=...            # a superadmin API key
#   export AUDITSHIP_URL=http://127.0.0.1:8080     # default
#   ./curl.sh 'limit=100&event_name=api_key&start_time=2021-08-17'
#
# Prints one JSON list (one page) per line on standard output. Exits 1 with
# the API's {"error","message"} on standard error when a request fails.
set -euo pipefail

url="${AUDITSHIP_URL:-http://127.0.0.1:8080}"
key="${AUDITSHIP_SUPERADMIN_KEY:?set AUDITSHIP_SUPERADMIN_KEY to a superadmin API key}"
params="${1:-limit=100}"
max_pages="${MAX_PAGES:-100000}"

headers="$(mktemp)"
trap 'rm -f "$headers"' EXIT

cursor=""
for ((page = 0; page < max_pages; page++)); do
  query="$params"
  if [[ -n "$cursor" ]]; then
    query="$query&cursor=$cursor" # cursors are base64url: nothing to escape
  fi
  # -D saves the response headers; the body goes to standard output.
  status=0
  body="$(curl --silent --show-error --fail-with-body \
    --header "Authorization: Bearer $key" \
    --dump-header "$headers" \
    "$url/audit-logs?$query")" || status=$?
  if [[ $status -ne 0 ]]; then
    echo "curl.sh: GET /audit-logs?$query failed (curl exit $status): $body" >&2
    exit 1
  fi
  printf '%s\n' "$body"
  # The header is present only when the page is full; the last page may be [].
  cursor="$(grep -i '^x-next-cursor:' "$headers" | head -n 1 | cut -d: -f2 | tr -d ' \r')" || true
  if [[ -z "$cursor" ]]; then
    exit 0
  fi
done
echo "curl.sh: stopped after $max_pages pages" >&2
