# auditship shipping the example platform's logs to Elasticsearch.
#
# Start a cluster first (docker-compose.yml next to this file, see
# README.md), then, from the repository root:
#
#   export ELASTIC_PASSWORD=...            # the password of the elastic user
#   bin/auditship setup --config examples/elasticsearch/agent.hcl
#   bin/auditship agent --config examples/elasticsearch/agent.hcl
#
# Relative paths are relative to this file's directory.

# Registry of offsets, dead-letter file and the generated API key.
data_dir = "data"

input "file" "platform" {
  paths    = ["../logs/*.log"]
  exclude  = ["*.gz"]
  start_at = "beginning"

  parser "json" {}

  # The same mapping as the repository's agent.hcl.
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

# Events go to the monthly indexes audit-logs-YYYY.MM, created from the index
# template "audit-logs" and read through the alias "audit-logs".
output "elasticsearch" "cluster" {
  addresses = ["http://127.0.0.1:9200"]
  username  = "elastic"
  # The password is read from this environment variable, never from the
  # config. password_file = "/run/secrets/es-password" works too.
  password_env = "ELASTIC_PASSWORD"

  # With TLS on the HTTP layer (the Elasticsearch default outside this
  # example), use an https address and trust the cluster's CA:
  # ca_cert_file = "/etc/elasticsearch/certs/http_ca.crt"

  index_prefix = "audit-logs"
}

# GET /audit-logs for super-admins, read from the cluster.
query {
  listen = "127.0.0.1:8080"
}
