mapping {
  event_time = record.ts
  event_name = "user"
  event_type = lower("create", "x")
  user_uid   = record.audit.user_uid
}
