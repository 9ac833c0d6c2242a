schemas {
  unknown_event_name = "drop"
}
