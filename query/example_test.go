package query_test

import (
	"fmt"

	"github.com/auditship/auditship/query"
)

// The sha256 of an api_key block is HashKey of the key handed to the client.
func ExampleHashKey() {
	fmt.Println(query.HashKey("ops-script-key"))
	// Output: 3e4e4527efc8aa35218b22347413021c509fb46464eaafca8f1440915fb0c1c4
}
