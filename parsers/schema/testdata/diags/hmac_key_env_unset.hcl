schemas {
  hmac_key_env = "AUDITSHIP_TEST_UNSET_HMAC_KEY"
}

schema "acct" {
  details   = object({ email = string })
  sensitive = ["email"]
  redact    = "hmac"
}
