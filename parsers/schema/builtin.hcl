# Built-in event_details schemas: one per auditable action of the platform
# (Snorkel Flow "Reviewing audit logs"). Numbers are uids and counts, names
# are strings; optional(...) attributes may be absent or null. Objects accept
# attributes they do not declare (additional_attributes defaults to true).
# A user's `schema` block for the same event_name and event_type replaces
# the one here.

schema "annotation" {
  event_types = ["create", "delete"]
  details = object({
    annotation_uid   = number
    dataset_uid      = number
    label_schema_uid = number
    x_uid            = string
    source_uid       = optional(number)
    label            = optional(any)
  })
}

schema "annotation" {
  event_types = ["commit"]
  details = object({
    dataset_uid      = number
    label_schema_uid = number
    source_uid       = number
    num_annotations  = number
    annotation_uids  = optional(list(number))
  })
}

schema "annotation" {
  event_types = ["transfer"]
  details = object({
    dataset_uid      = number
    label_schema_uid = number
    from_user_uid    = number
    to_user_uid      = number
    num_annotations  = number
  })
}

schema "application" {
  event_types = ["create", "update", "delete"]
  details = object({
    application_uid  = number
    application_name = string
    workspace_uid    = optional(number)
    template_id      = optional(string)
    changes          = optional(map(any))
  })
}

schema "batch" {
  event_types = ["create", "update", "delete"]
  details = object({
    batch_uid      = number
    dataset_uid    = number
    name           = optional(string)
    split          = optional(string)
    num_datapoints = optional(number)
    assignees      = optional(list(number))
    changes        = optional(map(any))
  })
}

schema "training_set" {
  event_types = ["create", "update", "delete"]
  details = object({
    training_set_uid = number
    model_node_uid   = number
    name             = optional(string)
    num_datapoints   = optional(number)
    changes          = optional(map(any))
  })
}

schema "dataset" {
  event_types = ["create", "delete"]
  details = object({
    dataset_uid   = number
    name          = string
    workspace_uid = optional(number)
    description   = optional(string)
  })
}

schema "datasource" {
  event_types = ["create", "delete"]
  details = object({
    datasource_uid = number
    dataset_uid    = number
    split          = string
    path           = optional(string)
    num_rows       = optional(number)
  })
}

schema "lf" {
  event_types = ["create", "delete"]
  details = object({
    lf_uid        = number
    node_uid      = number
    name          = string
    label         = optional(string)
    template_type = optional(string)
  })
}

schema "user" {
  event_types = ["create", "update", "delete"]
  details = object({
    user_uid = number
    username = string
    role     = optional(string)
    email    = optional(string)
    changes  = optional(map(any))
  })
}

schema "user_role" {
  event_types = ["assign", "remove"]
  details = object({
    user_uid      = number
    role          = string
    workspace_uid = optional(number)
  })
}

schema "user_role" {
  event_types = ["create"]
  details = object({
    role_uid    = number
    role_name   = string
    permissions = list(string)
  })
}

schema "api_key" {
  event_types = ["create", "delete"]
  details = object({
    api_key_uid  = number
    censored_key = string
    name         = optional(string)
    expires_at   = optional(string)
  })
  # The platform censors the key already; censoring again is a no-op for
  # such values and protects against a platform that forgets.
  sensitive = ["censored_key"]
  redact    = "censor"
}

schema "login" {
  event_types = ["login"]
  details = object({
    user_uid    = number
    username    = string
    auth_method = optional(string)
    remote_addr = optional(string)
  })
}

schema "workspace" {
  event_types = ["create", "update"]
  details = object({
    workspace_uid = number
    name          = string
    changes       = optional(map(any))
  })
}

schema "external_llm_config" {
  event_types = ["create"]
  details = object({
    config_uid    = number
    provider      = string
    model_name    = string
    workspace_uid = optional(number)
    endpoint_url  = optional(string)
    api_key       = optional(string)
  })
  sensitive = ["api_key"]
}

schema "custom_pip_install" {
  event_types = ["install"]
  details = object({
    packages  = list(string)
    node_name = optional(string)
    index_url = optional(string)
    exit_code = optional(number)
  })
}

# Reads of GET /audit-logs, recorded by auditship itself.
schema "audit_log" {
  event_types = ["read"]
  details = object({
    key_name     = string
    parameters   = map(any)
    result_count = number
    remote_addr  = string
  })
}
