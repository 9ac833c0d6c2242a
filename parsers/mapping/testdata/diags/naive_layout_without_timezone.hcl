mapping {
  event_time  = record.ts
  event_name  = record.audit.resource
  event_type  = record.audit.action
  user_uid    = record.audit.user_uid
  time_format = "2006-01-02 15:04:05"
}
