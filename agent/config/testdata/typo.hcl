data_dir = "data"

input "file" "app" {
  pathz  = ["logs/*.log"]
  parser "json" {}
  mapping {
    event_time = record.ts
    event_name = record.name
    event_type = record.type
    user_uid   = record.uid
  }
}

output "sqlite" "store" {}
