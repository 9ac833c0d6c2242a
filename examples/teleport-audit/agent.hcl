# auditship for Teleport's audit log: the auth service's file event backend
# (audit_events_uri = ["file:///var/lib/teleport/log"]) writes one JSON
# event per line into daily files under /var/lib/teleport/log/.
#
# Tested by examples/examples_test.go against testdata/real/teleport-audit.

data_dir = "/var/lib/auditship"

input "file" "teleport" {
  paths   = ["/var/lib/teleport/log/**/*.log"]
  exclude = ["*.gz"]

  parser "json" {}

  mapping {
    # Every line is an audit event. Teleport's uid is a UUID and is not
    # unique (nor always present): the event_id is derived from the line.
    event_time = record.time

    # event is "<resource>.<action>" (user.login, session.start,
    # access_request.create, db.session.spanner.rpc) or a bare word (scp,
    # sftp, auth, resize): the resource becomes teleport.<resource>, the
    # rest the event_type; a bare word is both.
    event_name = "teleport.${split(".", record.event)[0]}"
    event_type = length(split(".", record.event)) > 1 ? regex_replace(record.event, "^[^.]*\\.", "") : record.event

    event_details = {
      code         = record.code # T1000I: the last letter is I(nfo), W(arning) or E(rror)
      uid          = record.uid
      user         = try(coalesce(record.user, record.updated_by), null)
      login        = record.login
      cluster_name = record.cluster_name
      server_id    = record.server_id
      sid          = record.sid
      remote_addr  = try(record.addr.remote, null)
      success      = record.success
      error        = record.error
    }

    # Teleport users are names or e-mail addresses. -1 means "no numeric
    # user id"; the name is in event_details.user.
    user_uid = -1
  }
}

# Teleport has hundreds of event types and adds more with each release:
# events without a schema are accepted unchecked (the secret detector still
# runs). Logins are checked.
schemas {
  unknown_event_name = "accept"
}

schema "teleport.user" {
  event_types = ["login"]
  details = object({
    code    = string
    user    = string
    success = bool
  })
}

output "sqlite" "store" {
  path = "audit.db"
}

query {
  listen = "127.0.0.1:8080"
}
