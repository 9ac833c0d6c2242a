package schema

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// Values of unknown_event_name.
const (
	// UnknownDeadLetter rejects an event whose (event_name, event_type) has no
	// schema with a [*ValidationError], so the agent dead-letters it.
	UnknownDeadLetter = "dead_letter"
	// UnknownAccept passes such an event through unchecked; the secret
	// detector still runs on its details.
	UnknownAccept = "accept"
)

// Values of redact.
const (
	// RedactCensor replaces a sensitive value by asterisks followed by its
	// last 4 characters, keeping its length ("****...E4YO"); values shorter
	// than 12 characters become all asterisks.
	RedactCensor = "censor"
	// RedactHMAC replaces a sensitive value by the lowercase hex HMAC-SHA256
	// of the value, keyed by hmac_key_file or hmac_key_env, so equal values
	// can still be correlated without being revealed.
	RedactHMAC = "hmac"
)

// Block is one `schema "NAME" { }` block: the shape of event_details for an
// event_name, optionally narrowed to some event_types.
//
//	schema "api_key" {
//	  event_types = ["create", "delete"]
//	  details     = object({ api_key_uid = number, censored_key = string, name = optional(string) })
//	  sensitive   = ["censored_key"]
//	  redact      = "censor"
//	}
type Block struct {
	// Name is the event_name the schema applies to.
	Name string `hcl:"name,label"`
	// EventTypes lists the event_types the schema applies to. Empty (the
	// default) means every event_type of Name that no other block lists.
	EventTypes []string `hcl:"event_types,optional"`
	// Details is a type constraint expression (hashicorp/hcl typeexpr):
	// string, number, bool, any, list(T), set(T), map(T), tuple([...]) and
	// object({...}) with optional(T) attributes. Defaults inside optional
	// are not supported. Required.
	Details hcl.Expression `hcl:"details"`
	// Sensitive lists dotted attribute paths ("censored_key",
	// "credentials.token") whose values are redacted before the event is
	// stored. A path passes through list, set and tuple elements and names
	// map keys. Default: none.
	Sensitive hcl.Expression `hcl:"sensitive,optional"`
	// Redact is how sensitive values are redacted: "censor" (default) or
	// "hmac".
	Redact string `hcl:"redact,optional"`
	// AdditionalAttributes reports whether objects in the details may carry
	// attributes their object type does not declare; such attributes are
	// kept unchecked. Default true: platforms add fields over time and an
	// audit event must not be lost for carrying one more field. false
	// rejects them, at every object level of the schema.
	AdditionalAttributes *bool `hcl:"additional_attributes,optional"`

	EventTypesRange hcl.Range `hcl:"event_types,attr_value_range"`
	RedactRange     hcl.Range `hcl:"redact,attr_value_range"`
	DeclRange       hcl.Range `hcl:",def_range"`
}

// Settings are the attributes of the top-level `schemas { }` block.
//
// Start from [DefaultSettings] (or use [DecodeSettings]): decoding into a
// zero Settings leaves DetectSecrets false.
type Settings struct {
	// UnknownEventName is what happens to an event whose (event_name,
	// event_type) no schema covers: "dead_letter" (default; "" means the
	// same) or "accept".
	UnknownEventName string `hcl:"unknown_event_name,optional"`
	// HMACKeyFile is the path of a file holding the key for redact =
	// "hmac"; one trailing newline is ignored. Read once, by [New].
	HMACKeyFile string `hcl:"hmac_key_file,optional"`
	// HMACKeyEnv is the name of an environment variable holding the key
	// for redact = "hmac", used when hmac_key_file is not set.
	HMACKeyEnv string `hcl:"hmac_key_env,optional"`
	// DetectSecrets reports whether details are scanned for secrets
	// (bearer tokens, PEM private keys, AWS access key ids, GitHub and
	// Slack tokens, password=... values, attributes named like password or
	// token) outside the declared sensitive paths; hits are censored and
	// counted. Default true.
	DetectSecrets bool `hcl:"detect_secrets,optional"`

	UnknownEventNameRange hcl.Range `hcl:"unknown_event_name,attr_value_range"`
	HMACKeyFileRange      hcl.Range `hcl:"hmac_key_file,attr_value_range"`
	HMACKeyEnvRange       hcl.Range `hcl:"hmac_key_env,attr_value_range"`
	DeclRange             hcl.Range `hcl:",def_range"`
}

// DefaultSettings returns the settings used when there is no schemas block:
// dead-letter unknown event names, detect secrets, no HMAC key.
func DefaultSettings() Settings {
	return Settings{UnknownEventName: UnknownDeadLetter, DetectSecrets: true}
}

// DecodeSettings decodes the body of a `schemas { }` block over
// [DefaultSettings]. A nil body gives the defaults. Values are checked by
// [New], not here. DeclRange is set from the body when the caller has not
// set it.
func DecodeSettings(body hcl.Body) (Settings, hcl.Diagnostics) {
	s := DefaultSettings()
	if body == nil {
		return s, nil
	}
	diags := gohcl.DecodeBody(body, nil, &s)
	if s.DeclRange == (hcl.Range{}) {
		s.DeclRange = body.MissingItemRange()
	}
	return s, diags
}
