// Package schema checks event_details against a schema declared per
// event_name (optionally narrowed by event_type) and redacts secrets before
// events are stored.
//
// The shapes follow the Snorkel Flow "Reviewing audit logs" reference
// (https://docs.snorkel.ai/docs/0.93/administration/system/reviewing-audit-logs):
// annotation create/commit/transfer/delete, application, batch and
// training_set create/update/delete, dataset, datasource and lf
// create/delete, user create/update/delete, user_role assign/remove/create,
// api_key create/delete (details carry censored_key, asterisks then the last
// 4 characters), login, workspace create/update, external_llm_config create
// and custom_pip_install install. They are declared in the embedded
// builtin.hcl, together with audit_log read for reads of GET /audit-logs.
//
// # Declaring schemas
//
//	schemas {
//	  unknown_event_name = "dead_letter" # or "accept"
//	  hmac_key_file      = "/etc/auditship/hmac.key"
//	  detect_secrets     = true
//	}
//	schema "api_key" {
//	  event_types = ["create", "delete"]
//	  details     = object({ api_key_uid = number, censored_key = string, name = optional(string) })
//	  sensitive   = ["censored_key"]
//	  redact      = "censor"
//	}
//
// details is a hashicorp/hcl typeexpr type constraint. A user block
// replaces the built-in schema for each (event_name, event_type) it lists;
// a block without event_types covers the event_types no block lists.
//
// # Validation rules
//
// [Catalog.Apply] walks the compiled type against the Go values of
// Details (string, json.Number, bool, nil, []any, map[string]any) without
// converting them to cty:
//   - number accepts json.Number (and Go numeric values); string accepts
//     only strings: there is no implicit conversion between number, bool
//     and string, unlike cty's, because "42" and 42 are different audit
//     facts and a silent conversion would hide a platform change;
//   - list(T), set(T) and tuple([...]) accept []any (set uniqueness is not
//     checked); map(T) and object({...}) accept map[string]any; any
//     accepts everything, null included;
//   - an object's optional attributes may be absent or null; required ones
//     must be present and non-null (unless typed any);
//   - attributes an object type does not declare are kept unchecked, unless
//     the schema sets additional_attributes = false.
//
// The first problem, in attribute-name order, is returned as a
// [*ValidationError] such as
//
//	event_details.user_uid: want number, got string "abc"
//
// Values at sensitive paths, and values that look like secrets, are never
// quoted. An event whose (event_name, event_type) no schema covers is
// rejected (unknown_event_name = "dead_letter", the default) or passed
// unchecked ("accept").
//
// # Redaction
//
// Values at the sensitive paths are replaced by [Censor] (asterisks, then
// the last 4 characters; fewer than 12 characters become all asterisks) or,
// with redact = "hmac", by their hex HMAC-SHA256. Then, with detect_secrets
// (default on), every other string is scanned for bearer tokens, PEM
// private keys, AWS access key ids, GitHub and Slack tokens and
// password=... assignments, and attributes named password, secret, token,
// api_key and the like are censored whole; only the secret part of a
// string is censored and each hit is counted by [Catalog.Redacted]. Cheap
// substring tests run before any regular expression.
package schema
