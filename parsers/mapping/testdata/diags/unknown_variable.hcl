mapping {
  when       = rec.msg == "audit"
  event_time = record.ts
  event_name = audit.resource
  event_type = record.audit.action
  user_uid   = record.audit.user_uid
}
