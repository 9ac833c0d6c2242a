# auditship for the Linux audit daemon's log, /var/log/audit/audit.log
# (log_format = RAW or ENRICHED): one record per line,
#
#   type=USER_LOGIN msg=audit(1492896301.818:19955): pid=12635 uid=0 auid=4294967295 ... msg='op=login ... res=failed'
#
# The regex parser cuts the fixed head (node, type, time, serial); fields of
# the key=value body are read with regex() in the mapping. The logfmt parser
# is not used: auditd bodies have single-quoted payloads and stray quotes that
# logfmt rejects.
#
# Tested by examples/examples_test.go against testdata/real/auditd.

data_dir = "/var/lib/auditship"

input "file" "auditd" {
  # auditd rotates by renaming audit.log to audit.log.1, .2, ...
  paths = ["/var/log/audit/audit.log", "/var/log/audit/audit.log.*"]

  parser "regex" {
    pattern = "^(?:node=(?P<node>\\S+) )?type=(?P<type>\\S+) msg=audit\\((?P<epoch>[0-9]+\\.[0-9]+):(?P<serial>[0-9]+)\\): *(?P<body>.*)$"
  }

  mapping {
    # One kernel event is several records (lines) sharing the serial: the
    # SYSCALL or USER_* record says who did what; EXECVE, CWD, PATH,
    # SOCKADDR, PROCTITLE and the like only add detail to it and are
    # skipped. Lines that do not match the pattern are skipped by the parser.
    when = !contains(["EXECVE", "CWD", "PATH", "SOCKADDR", "PROCTITLE", "OBJ_PID", "FD_PAIR", "BPRM_FCAPS", "CAPSET", "MMAP", "NETFILTER_PKT", "EOE"], record.type)

    # The serial wraps at 2^32 and restarts at boot: the event_id is derived
    # from the line instead.
    event_time  = record.epoch
    time_format = "epoch_s"

    # The record type: auditd.syscall, auditd.user_login, auditd.avc, ...
    event_name = "auditd.${lower(record.type)}"

    # What was done: syscall_<number> for SYSCALL records, the op= of
    # user-space records (login, ...), else the record type.
    event_type = try("syscall_${regex("\\bsyscall=([0-9]+)", record.body)[0]}", lower(regex("\\bop=([A-Za-z_-]+)", record.body)[0]), lower(record.type))

    event_details = {
      serial  = record.serial
      node    = record.node
      result  = try(regex("\\b(?:res|success)=([a-z]+)", record.body)[0], null)
      comm    = try(regex("\\bcomm=\"([^\"]*)\"", record.body)[0], null)
      exe     = try(regex("\\bexe=(\"[^\"]*\"|[0-9A-F]+)", record.body)[0], null)
      key     = try(regex("\\bkey=(\"[^\"]*\"|\\S+)", record.body)[0], null)
      session = try(regex("\\bses=([0-9]+)", record.body)[0], null)
      body    = record.body # the whole record, nothing lost
    }

    # The login uid (auid) follows a user through su and sudo; when it is
    # unset (4294967295, daemons) the uid is taken; -1 when neither is there
    # (AVC records).
    user_uid = try(tonumber(regex("\\bauid=([0-9]+)", replace(record.body, "auid=4294967295", "auid=unset"))[0]), tonumber(regex("\\buid=([0-9]+)", record.body)[0]), -1)
  }
}

# The kernel and user space define hundreds of record types: events without a
# schema are accepted unchecked (the secret detector still runs). Logins are
# checked.
schemas {
  unknown_event_name = "accept"
}

schema "auditd.user_login" {
  details = object({
    serial = string
    result = string
    exe    = string
    body   = string
  })
}

output "sqlite" "store" {
  path = "audit.db"
}

query {
  listen = "127.0.0.1:8080"
}
