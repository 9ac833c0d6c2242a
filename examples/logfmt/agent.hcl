# auditship for logfmt application logs: a Kubernetes virtual-kubelet
# provider (logrus text format) and a Grafana server. These are operational
# logs, not audit logs: the example picks the few lines that record a change
# (a pod deleted, settings loaded or overridden) and skips the rest.
#
# Tested by examples/examples_test.go against testdata/real/logfmt.

data_dir = "/var/lib/auditship"

input "file" "virtual-kubelet" {
  paths = ["/var/log/virtual-kubelet/*.log"]

  parser "logfmt" {}

  mapping {
    when       = contains(["Pod deleted", "Failed to DeletePod in the provider"], record.msg)
    event_time = record.time # time="2021-09-15T21:17:10.220731Z"
    event_name = "kubelet.pod"
    event_type = record.msg == "Pod deleted" ? "delete" : "delete_failed"
    event_details = {
      namespace = record.namespace
      pod       = record.pod
      uid       = record.uid
      error     = record.error
    }
    # The kubelet acts for the cluster, not for a user.
    user_uid = -1
  }
}

input "file" "grafana" {
  paths = ["/var/log/grafana/grafana.log"]

  parser "logfmt" {}

  mapping {
    when       = record.logger == "settings"
    event_time = record.t # t=2025-04-24T19:51:48.520963849Z (key t, not time)
    event_name = "grafana.settings"
    event_type = lookup({
      "Starting Grafana"                    = "start"
      "Config loaded from"                  = "load"
      "Config overridden from command line" = "override"
    }, record.msg, "other")
    event_details = {
      message = record.msg
      version = record.version
      commit  = record.commit
      file    = record.file
      arg     = record.arg
    }
    user_uid = -1
  }
}

schema "kubelet.pod" {
  details = object({
    namespace = string
    pod       = string
    uid       = optional(string)
    error     = optional(string)
  })
}

schema "grafana.settings" {
  details = object({
    message = string
    version = optional(string)
    file    = optional(string)
    arg     = optional(string)
  })
}

output "sqlite" "store" {
  path = "audit.db"
}

query {
  listen = "127.0.0.1:8080"
}
