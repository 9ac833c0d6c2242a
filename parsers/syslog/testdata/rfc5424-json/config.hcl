rfc            = "auto"
message_format = "json"
