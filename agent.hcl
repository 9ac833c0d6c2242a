# auditship agent configuration: the default, used by `make run`.
#
# It tails the example platform's logs in examples/logs/, turns their audit
# lines into audit events, stores them in the embedded store under data/, and
# serves GET /audit-logs on 127.0.0.1:8080. Relative paths are relative to
# this file's directory. Every setting is described in docs/configuration.md.

# Registry of offsets, dead-letter file, generated API key and the embedded
# store live here.
data_dir = "data"

input "file" "platform" {
  paths    = ["examples/logs/*.log"]
  exclude  = ["*.gz"]
  start_at = "beginning"

  # Each line is one JSON object.
  parser "json" {}

  # Audit lines are the records whose msg is "audit"; every other line
  # (requests, warnings, job progress) is skipped.
  mapping {
    when          = record.msg == "audit"
    event_id      = record.audit.event_id # the platform's own id when it has one
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
}

# The embedded store (SQLite): data/audit.db.
output "sqlite" "store" {
  path = "audit.db"
}

# GET /audit-logs for super-admins. The super-admin key comes from
# AUDITSHIP_SUPERADMIN_KEY, or is generated at first start into
# data/superadmin.key and printed once.
query {
  listen = "127.0.0.1:8080"
}
