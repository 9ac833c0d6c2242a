package schema_test

import (
	"encoding/json"
	"fmt"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers/schema"
)

func ExampleCatalog_Apply() {
	c, diags := schema.New(schema.DefaultSettings(), nil) // built-in schemas only
	if diags.HasErrors() {
		fmt.Println(diags.Error())
		return
	}

	ok := &event.Event{Name: "api_key", Type: "create", Details: map[string]any{
		"api_key_uid":  json.Number("17"),
		"censored_key": "sk-live-0123456789E4YO", // censored before storing
	}}
	fmt.Println(c.Apply(ok), ok.Details["censored_key"])

	bad := &event.Event{Name: "login", Type: "login", Details: map[string]any{
		"user_uid": "abc",
		"username": "ada.lovelace",
	}}
	fmt.Println(c.Apply(bad))
	// Output:
	// <nil> ******************E4YO
	// event_details.user_uid: want number, got string "abc"
}
