mapping {
  event_name = record.audit.resource
  event_type = record.audit.action
}
