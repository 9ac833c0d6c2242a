package mapping_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers/mapping"
)

func ExampleCompile() {
	src := `
mapping {
  when          = record.msg == "audit"
  event_time    = record.ts
  event_name    = record.audit.resource
  event_type    = lower(record.audit.action)
  event_details = record.audit.details
  user_uid      = record.audit.user_uid
  timezone      = "UTC"
}
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "agent.hcl", hcl.InitialPos)
	var root struct {
		Mapping mapping.Block `hcl:"mapping,block"`
	}
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &root)...)
	m, cdiags := mapping.Compile(root.Mapping)
	if diags = append(diags, cdiags...); diags.HasErrors() {
		fmt.Println(diags)
		return
	}

	line := `{"ts":"2024-07-12 13:33:01.5","msg":"audit","audit":{"resource":"api_key","action":"CREATE","user_uid":2882429806056571124,"details":{"key_id":"k1"}}}`
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var rec map[string]any
	if err := dec.Decode(&rec); err != nil {
		fmt.Println(err)
		return
	}
	ev, err := m.Map(rec, []byte(line), event.Position{Input: "platform", Path: "/var/log/audit.log"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(event.FormatTime(ev.Time), ev.Name, ev.Type, ev.UserUID, ev.Details)
	// Output: 2024-07-12T13:33:01.500000 api_key create 2882429806056571124 map[key_id:k1]
}
