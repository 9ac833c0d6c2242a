schema "doc" {
  event_types = ["create", "update"]
  details     = object({ doc_uid = number })
}

schema "doc" {
  event_types = ["update"]
  details     = object({ doc_uid = number, title = string })
}
