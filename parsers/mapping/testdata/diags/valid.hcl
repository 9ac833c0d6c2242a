mapping {
  when          = record.msg == "audit"
  event_id      = record.audit.event_id
  event_time    = record.ts
  event_name    = record.audit.resource
  event_type    = lower(record.audit.action)
  event_details = record.audit.details
  user_uid      = record.audit.user_uid
  time_format   = "02/Jan/2006:15:04:05"
  timezone      = "Europe/Berlin"
}
