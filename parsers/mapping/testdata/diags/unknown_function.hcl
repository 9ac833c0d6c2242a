mapping {
  event_time = record.ts
  event_name = record.audit.resource
  event_type = lowr(record.audit.action)
  user_uid   = record.audit.user_uid
  timezone   = "UTC"
}
