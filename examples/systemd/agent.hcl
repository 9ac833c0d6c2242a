# auditship agent: production defaults for a host run by systemd
# (examples/systemd/auditship.service). Installed by `make install` to
# /etc/auditship/agent.hcl, never over an existing file.
# Every setting is described in docs/configuration.md.
# Check it with: auditship validate --config /etc/auditship/agent.hcl
# Apply changes with: systemctl reload auditship

# Registry of offsets, dead-letter file, super-admin key and embedded store.
# StateDirectory=auditship in the unit creates it, owned by the service.
data_dir = "/var/lib/auditship"

# Keep below TimeoutStopSec (45s) of the unit.
shutdown_timeout = "30s"

input "file" "platform" {
  paths   = ["/var/log/platform/*.log", "/var/log/platform/**/*.log"]
  exclude = ["*.gz", "*.zst", "*.[0-9]"]

  parser "json" {}

  mapping {
    when          = record.msg == "audit"
    event_id      = record.audit.event_id
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
}

# The embedded store: /var/lib/auditship/audit.db.
output "sqlite" "store" {}

# To ship to Elasticsearch as well (or instead), with the API key in
# /etc/auditship/auditship.env as AUDITSHIP_ES_API_KEY=...:
#
# output "elasticsearch" "main" {
#   addresses    = ["https://es.example.internal:9200"]
#   api_key_env  = "AUDITSHIP_ES_API_KEY"
#   index_prefix = "audit-logs"
# }

# GET /audit-logs for super-admins, on loopback. The super-admin key is
# AUDITSHIP_SUPERADMIN_KEY from /etc/auditship/auditship.env, or generated
# into /var/lib/auditship/superadmin.key at the first start.
query {
  listen = "127.0.0.1:8080"
}

# Prometheus metrics and health checks: /metrics, /healthz, /readyz.
http {
  listen              = "127.0.0.1:9464"
  ready_failing_after = "1m"
}
