schema "thing" {
  details   = object({ uid = number, secret = string })
  sensitive = ["secret"]
  redact    = "mask"
}
