mapping {
  event_time = record.ts
  event_name = record.audit.resource
  event_type = record.audit.action
  user_uid   = record.audit.user_uid
  timezone   = "Mars/Olympus_Mons"
}
