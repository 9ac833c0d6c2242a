rfc            = "3164"
message_format = "logfmt"
timezone       = "Europe/Berlin"
