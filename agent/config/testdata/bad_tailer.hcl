# Settings the agent could not run with, each refused at load time (and so
# by auditship validate and by a reload), not when the input starts.
data_dir = "data"

http {
  listen = "nonsense"
}

input "file" "app" {
  paths             = ["logs/*.log", "logs/[a-.log"]
  exclude           = ["logs/{old"]
  fingerprint_bytes = 5000
  parser "json" {}
  mapping {
    event_time = record.ts
    event_name = record.name
    event_type = record.type
    user_uid   = record.uid
  }
}

output "sqlite" "store" {}
