  # The parser and mapping of every auditship leg of bench/run.sh and of
  # bench/pgo.sh, pasted into their input "file" block.
  parser "json" {}
  mapping {
    when          = record.msg == "audit"
    event_id      = record.audit.event_id
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
