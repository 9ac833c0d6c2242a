#!/usr/bin/env bash
# Read every audit event matching a filter from GET /audit-logs with curl,
# following the X-Next-Cursor header from page to page.
#
#   export AUDITSHIP_SUPERADMIN_KEY=...            # a superadmin API key
#   export AUDITSHIP_URL=http://127.0.0.1:8080     # default
#   ./curl.sh 'limit=100&event_name=api_key&start_time=2021-08-17'
#
# The argument is a query string as it goes in the URL: write the "+" of a
# time offset as %2B (start_time=2021-08-17T22:51:47%2B02:00), since a "+"
# in a query string means a space.
#
# Prints one JSON list (one page) per line on standard output. On 429
# rate_limited it waits Retry-After seconds and tries again, at most
# MAX_RETRIES times (default 5) per page. Exits 1 with the API's
# {"error","message"} on standard error when a request fails.
set -euo pipefail

url="${AUDITSHIP_URL:-http://127.0.0.1:8080}"
key="${AUDITSHIP_SUPERADMIN_KEY:?set AUDITSHIP_SUPERADMIN_KEY to a superadmin API key}"
params="${1:-limit=100}"
max_pages="${MAX_PAGES:-100000}"
max_retries="${MAX_RETRIES:-5}"

headers="$(mktemp)"
body_file="$(mktemp)"
trap 'rm -f "$headers" "$body_file"' EXIT

cursor=""
for ((page = 0; page < max_pages; page++)); do
  query="$params"
  if [[ -n "$cursor" ]]; then
    query="$query&cursor=$cursor" # cursors are base64url: nothing to escape
  fi
  for ((try = 0; ; try++)); do
    # -D saves the response headers, -o the body; -w prints the status.
    status=0
    code="$(curl --silent --show-error \
      --header "Authorization: Bearer $key" \
      --dump-header "$headers" --output "$body_file" --write-out '%{http_code}' \
      "$url/audit-logs?$query")" || status=$?
    if [[ $status -ne 0 ]]; then
      echo "curl.sh: GET /audit-logs?$query failed (curl exit $status)" >&2
      exit 1
    fi
    if [[ "$code" != 429 || $try -ge $max_retries ]]; then
      break
    fi
    # rate_limited: wait Retry-After seconds (1 to 60), then try again.
    delay="$(grep -i '^retry-after:' "$headers" | head -n 1 | cut -d: -f2 | tr -dc '0-9')" || true
    delay="${delay:-1}"
    if ((10#$delay < 1)); then delay=1; fi
    if ((10#$delay > 60)); then delay=60; fi
    sleep "$((10#$delay))"
  done
  body="$(cat "$body_file")"
  if [[ "$code" != 200 ]]; then
    echo "curl.sh: GET /audit-logs?$query failed (HTTP $code): $body" >&2
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
