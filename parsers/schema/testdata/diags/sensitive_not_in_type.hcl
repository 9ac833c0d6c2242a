schema "thing" {
  details = object({
    uid   = number
    creds = object({ token = string })
    tags  = list(string)
  })
  sensitive = ["creds.token", "nope", "creds.pin", "uid.more", "tags.x"]
}
