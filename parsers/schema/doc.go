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
// with redact = "hmac", by their hex HMAC-SHA256. A number there is
// redacted as the text of its JSON value, so it becomes a string ("pin":
// 1234 is stored as "pin": "****"): a number could neither show that it was
// censored (0 would read as a real value) nor hold an HMAC. Redaction runs
// after validation, which saw the number; the Elasticsearch output stores
// event_details as unindexed JSON text, so the string causes no mapping
// conflict. true, false and null are kept.
//
// Then, with detect_secrets (default on):
//   - an attribute whose name, lowercased and without '_' and '-', ends in
//     password, passwd, passphrase, pwd, secret, token, apikey, accesskey,
//     secretkey, privatekey, credential, credentials or authorization
//     (db_password, client_secret, aws_secret_access_key, X-Api-Key,
//     access_token, PWD), or whose name is pass or ends in _pass, -pass or
//     .pass (db_pass, smtp.pass; not bypass, compass or pass_count), is
//     censored whole: a string, or a number as at a sensitive path; in a
//     list or an object ("client_secret": ["s1", "s2"]), every string and
//     number at any depth, the structure kept; true, false and null are
//     kept. A name that only contains such a word (api_key_uid,
//     max_tokens, token_type, secret_name), and key alone, is not a secret
//     name. Validation errors never quote a value under a declared
//     secret-named attribute;
//   - every other string is scanned, and only the secret part of a hit is
//     censored: bearer tokens ("Bearer xxx"); HTTP Basic credentials
//     ("Basic " then base64 that decodes to printable text with a colon,
//     so "basic plan" is prose); PEM private key bodies; AWS access key
//     ids; GitHub and Slack tokens; the password of a URL's user info,
//     which runs to the last '@' before the host ("postgres://app:****@db",
//     "postgres://app:p@ss@db" too; "https://ada@host" has none);
//     assignments name=value or name: value, the name optionally quoted,
//     whose name ends in password, passwd, passphrase, pwd, secret, token,
//     credential, credentials, or api, access, secret or private then key
//     with an optional '_' or '-' ("db_password=...",
//     "AWS_SECRET_ACCESS_KEY: ...", `"x-api-key": "..."`); and command-line
//     flags --password, --passwd or --passphrase, optionally prefixed
//     (--db-password), then spaces and a value not starting with '-'. A
//     value in double quotes runs to the closing quote, past spaces and
//     backslash escapes (`PASSWORD="hunter 2"`), in single quotes to the
//     closing one, in backslash-escaped quotes (`password=\"x y\"`, JSON
//     text inside a JSON string) to the closing one, an unclosed quote to
//     the end of the string; an unquoted value runs to the next space,
//     quote, '&', ';' or ','. "tokens: 5", "token count=5",
//     "max_tokens=512", "tests pass: 12" and "the key: value pairs" are
//     left alone; "password: changed" and "PWD=/root" are censored.
//
// Each hit is counted by [Catalog.Redacted]; a value already censored is
// neither censored again nor counted. One pass over a string's bytes finds
// the cheap substrings each pattern needs before any regular expression
// runs, so a string without a secret costs that pass.
package schema
