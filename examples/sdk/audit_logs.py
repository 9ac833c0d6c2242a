#!/usr/bin/env python3
"""Read audit events from auditship's GET /audit-logs with requests.

get_audit_logs(limit=100) is what ctx.tdm_client.get('/audit-logs?limit=100')
does: one request, the newest 100 events as a list of dicts with the six
fields event_id, event_time (UTC, "2021-08-17T20:51:47.268843"), event_name,
event_type, event_details and user_uid. iter_audit_logs() follows the
X-Next-Cursor header to read every matching event, page by page.

    export AUDITSHIP_SUPERADMIN_KEY=...          # a superadmin API key
    export AUDITSHIP_URL=http://127.0.0.1:8080   # default
    python3 audit_logs.py --event-name api_key --start-time 2021-08-17

prints one event per line as JSON (newest first unless --order asc). On
429 rate_limited it waits Retry-After seconds and goes on (at most
max_retries times per request). Times with an offset may be given as they are
(--start-time 2021-08-17T22:51:47+02:00): requests encodes the "+".
"""

import argparse
import json
import os
import sys
import time

import requests


class AuditLogError(Exception):
    """A request was refused; code is the API's stable error code."""

    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class AuditLogClient:
    def __init__(self, base_url=None, key=None, timeout=30, max_retries=5, max_wait=60):
        self.base_url = (base_url or os.environ.get("AUDITSHIP_URL", "http://127.0.0.1:8080")).rstrip("/")
        key = key or os.environ.get("AUDITSHIP_SUPERADMIN_KEY")
        if not key:
            raise ValueError("set AUDITSHIP_SUPERADMIN_KEY to a superadmin API key")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.timeout = timeout
        self.max_retries = max_retries  # 429 answers waited out per request
        self.max_wait = max_wait  # longest Retry-After honoured, in seconds

    def _get(self, params):
        for attempt in range(self.max_retries + 1):
            r = self.session.get(f"{self.base_url}/audit-logs", params=params, timeout=self.timeout)
            if r.status_code != 429 or attempt == self.max_retries:
                break
            # rate_limited: wait Retry-After seconds, then try again.
            try:
                wait = int(r.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1
            time.sleep(min(max(wait, 1), self.max_wait))
        if r.status_code != 200:
            try:
                body = r.json()
                raise AuditLogError(r.status_code, body.get("error"), body.get("message"))
            except ValueError:
                raise AuditLogError(r.status_code, "http", r.text) from None
        return r.json(), r.headers.get("X-Next-Cursor")

    def get_audit_logs(self, limit=100, **filters):
        """One page: like ctx.tdm_client.get('/audit-logs?limit=100')."""
        events, _ = self._get(dict(filters, limit=limit))
        return events

    def iter_audit_logs(self, limit=100, **filters):
        """Every matching event, following X-Next-Cursor.

        filters are the other parameters of GET /audit-logs: start_time,
        end_time, order, and event_name, event_type, user_uid (each a value
        or a list of values, OR). Events added while paging do not make an
        event of the first page come back twice or go missing.
        """
        params = dict(filters, limit=limit)
        while True:
            events, cursor = self._get(params)
            yield from events
            if not cursor:
                return
            params["cursor"] = cursor


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=100, help="events per page (1 to 10000)")
    p.add_argument("--event-name", action="append", help="repeatable, OR")
    p.add_argument("--event-type", action="append", help="repeatable, OR")
    p.add_argument("--user-uid", action="append", type=int, help="repeatable, OR")
    p.add_argument("--start-time", help="ISO 8601; no zone means UTC")
    p.add_argument("--end-time", help="ISO 8601; no zone means UTC")
    p.add_argument("--order", choices=["desc", "asc"])
    p.add_argument("--first-page", action="store_true", help="only the first page, as get('/audit-logs?limit=N')")
    a = p.parse_args(argv)
    filters = {k: v for k, v in {
        "event_name": a.event_name, "event_type": a.event_type, "user_uid": a.user_uid,
        "start_time": a.start_time, "end_time": a.end_time, "order": a.order,
    }.items() if v}
    client = AuditLogClient()
    try:
        if a.first_page:
            events = client.get_audit_logs(limit=a.limit, **filters)
        else:
            events = client.iter_audit_logs(limit=a.limit, **filters)
        for e in events:
            print(json.dumps(e, separators=(",", ":")))
    except AuditLogError as e:
        print(f"audit_logs.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
