data_dir         = "data"
shutdown_timeout = "ten seconds"

input "file" "app" {
  paths    = ["logs/*.log"]
  start_at = "middle"
  parser "yaml" {}
  mapping {
    event_time = record.ts
    event_name = record.name
    event_type = record.type
    user_uid   = record.uid
  }
}

output "kafka" "bus" {}
