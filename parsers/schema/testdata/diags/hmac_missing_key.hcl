schema "acct" {
  details   = object({ email = string })
  sensitive = ["email"]
  redact    = "hmac"
}
