# auditship for HashiCorp Vault's file audit device
# (vault audit enable file file_path=/var/log/vault/audit.log): one JSON
# object per line, values of secrets HMAC'ed by Vault.
#
# Tested by examples/examples_test.go against testdata/real/vault-audit.

data_dir = "/var/lib/auditship"

input "file" "vault" {
  paths   = ["/var/log/vault/audit.log", "/var/log/vault/audit.log-*"]
  exclude = ["*.gz"]

  parser "json" {}

  mapping {
    # Vault writes every request twice: a "request" line before handling it
    # and a "response" line after, which repeats the request and adds the
    # outcome (error, response). The response is the audit event; taking
    # both would store each request twice. KMIP secrets-engine lines are
    # typed kmip-request / kmip-response in the same way.
    when = record.type == "response" || record.type == "kmip-response"

    # request.id is a UUID (and absent on KMIP lines): the event_id is
    # derived from the line.
    event_time = record.time

    # The secrets engine (mount type): vault.kv, vault.pki, vault.system,
    # vault.token, ...; vault.kmip for the KMIP engine.
    event_name = record.type == "kmip-response" ? "vault.kmip" : "vault.${try(coalesce(record.request.mount_type, record.response.mount_type), "unknown")}"

    # read, update, create, delete, list, help; for KMIP the TTLV Operation
    # of the first batch item (KMIP 1.x enumeration), by name.
    event_type = record.type == "kmip-response" ? try(lookup({
      "0x00000001" = "create", "0x00000002" = "create_key_pair", "0x00000003" = "register",
      "0x00000008" = "locate", "0x0000000a" = "get", "0x0000000b" = "get_attributes",
      "0x00000012" = "activate", "0x00000013" = "revoke", "0x00000014" = "destroy",
      "0x00000018" = "query", "0x0000001e" = "discover_versions",
    }, regex("\"tag\":\"Operation\",\"type\":\"Enumeration\",\"value\":\"(0x[0-9a-fA-F]+)\"", jsonencode(record.request.data))[0], "kmip_operation"), "kmip_operation") : try(record.request.operation, "unknown")

    event_details = {
      request_id     = try(record.request.id, null)
      path           = try(record.request.path, null)
      remote_address = try(record.request.remote_address, null)
      user           = try(record.auth.display_name, null)
      entity_id      = try(record.auth.entity_id, null)
      policies       = try(record.auth.policies, [])
      error          = try(record.error, null)
    }

    # Vault identities are strings (entity_id, display_name). -1 means "no
    # numeric user id"; the name is in event_details.user.
    user_uid = -1
  }
}

# Mount types are open-ended (every plugin is one): events without a schema
# are accepted unchecked; the secret detector still runs.
schemas {
  unknown_event_name = "accept"
}

schema "vault.kv" {
  details = object({
    request_id     = string
    path           = string
    remote_address = string
    user           = string
    policies       = list(string)
  })
}

output "sqlite" "store" {
  path = "audit.db"
}

query {
  listen = "127.0.0.1:8080"
}
