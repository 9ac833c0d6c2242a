# auditship for GitLab (Omnibus): the audit log audit_json.log and the audit
# lines of application_json.log, both JSON lines under
# /var/log/gitlab/gitlab-rails/ (rotated by logrotate with compression).
#
# Tested by examples/examples_test.go against testdata/real/gitlab.

data_dir = "/var/lib/auditship"

# audit_json.log: every line is an audit event (GitLab's AuditEventService).
input "file" "gitlab-audit" {
  paths   = ["/var/log/gitlab/gitlab-rails/audit_json.log"]
  exclude = ["*.gz"]

  parser "json" {}

  mapping {
    event_time = record.time

    # The entity audited: gitlab.user, gitlab.project, gitlab.group.
    event_name = "gitlab.${lower(record.entity_type)}"

    # GitLab's audit lines say what happened with one of these keys:
    # with (authentication, its method), change (from/to), add, remove.
    event_type = (record.with != null ? "login" :
      record.change != null ? "change" :
      record.add != null ? "add" :
      record.remove != null ? "remove" : "other")

    event_details = {
      entity_id      = record.entity_id
      target_id      = record.target_id
      target_type    = record.target_type
      target_details = record.target_details
      author_name    = record.author_name
      with           = record.with
      change         = record.change
      from           = record.from
      to             = record.to
      add            = record.add
      remove         = record.remove
      remote_ip      = try(record.meta.remote_ip, null)
      caller_id      = try(record.meta.caller_id, null)
      correlation_id = record.correlation_id
    }

    user_uid = record.author_id
  }
}

# application_json.log: mostly operational lines (workers, partitions,
# leases); the audit lines are recognised by their message.
input "file" "gitlab-application" {
  paths   = ["/var/log/gitlab/gitlab-rails/application_json.log"]
  exclude = ["*.gz"]

  parser "json" {}

  mapping {
    # Sign-ins and sign-outs, and users, groups and projects created or
    # removed. Lines without a message are skipped as well (can() is false).
    when = can(regex("^(Successful Login|Failed Login|User Logout): |^(User|Group|Project) \".*\" .*was (created|removed|deleted)$|created a new project \"", record.message))

    event_time = record.time

    event_name = (can(regex("^(Successful Login|Failed Login|User Logout)", record.message)) ? "gitlab.session" :
      can(regex("^User ", record.message)) ? "gitlab.user" :
      can(regex("^Group ", record.message)) ? "gitlab.group" : "gitlab.project")

    event_type = (can(regex("^Successful Login", record.message)) ? "login" :
      can(regex("^Failed Login", record.message)) ? "login_failed" :
      can(regex("^User Logout", record.message)) ? "logout" :
      can(regex("was created$|created a new project", record.message)) ? "create" : "delete")

    event_details = {
      message        = record.message
      username       = try(regex("username=(\\S+)", record.message)[0], null)
      ip             = try(regex(" ip=(\\S+)", record.message)[0], null)
      name           = try(regex("\"([^\"]+)\"", record.message)[0], null)
      actor          = try(record.meta.user, null)
      caller_id      = try(record.meta.caller_id, null)
      remote_ip      = try(record.meta.remote_ip, null)
      correlation_id = record.correlation_id
    }

    # meta.user_id is the acting user; sign-in failures and background
    # workers have none: -1.
    user_uid = try(coalesce(record.meta.user_id, -1), -1)
  }
}

# The event_names are the fixed set above, so each has a schema and anything
# else is dead-lettered (the default).
schema "gitlab.user" {
  details = object({
    target_details = optional(string)
    message        = optional(string)
    name           = optional(string)
  })
}

schema "gitlab.project" {
  details = object({
    target_details = optional(string)
    message        = optional(string)
    name           = optional(string)
  })
}

schema "gitlab.group" {
  details = object({
    message = string
    name    = string
  })
}

schema "gitlab.session" {
  details = object({
    message  = string
    username = string
    ip       = string
  })
}

output "sqlite" "store" {
  path = "audit.db"
}

query {
  listen = "127.0.0.1:8080"
}
