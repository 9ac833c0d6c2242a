schema "thing" {
  details = object({ uid = numbr, name = string })
}
