mapping {
  event_time = record.ts
  event_name = sha256(record.audit.resource)
  event_type = record.audit.action
  user_uid   = record.audit.user_uid
}
