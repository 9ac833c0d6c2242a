schemas {
  unknown_event_name = "ignore"
  detect_secrets     = true
}

schema "one" {
  details = map(strin)
}

schema "two" {
  details   = object({ a = string })
  sensitive = ["b"]
  redact    = "sha256"
}
