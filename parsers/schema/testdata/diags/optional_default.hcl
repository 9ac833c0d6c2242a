schema "thing" {
  details = object({ uid = number, name = optional(string, "none") })
}
