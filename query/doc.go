// Package query serves the audit-log HTTP API on top of an
// [outputs.Searcher]:
//
//	GET /audit-logs?limit=100
//	Authorization: Bearer <key>
//
// # Authentication and roles
//
// Every request to /audit-logs carries an API key as a bearer token. Keys
// are configured only by their SHA-256 ([HashKey]) in api_key blocks, each
// with a role; the superadmin key from AUDITSHIP_SUPERADMIN_KEY or the
// generated data_dir/superadmin.key ([LoadOrCreateKey]) has role superadmin
// and key_name "superadmin". Hashes are compared in constant time. Only role
// superadmin may read:
//
//	no Authorization header, or not Bearer  401 unauthorized (WWW-Authenticate: Bearer realm="auditship")
//	unknown key                              401 unauthorized
//	known key, role other than superadmin    403 forbidden
//	more than rate_limit/s (burst rate_burst) per key  429 rate_limited, Retry-After in seconds
//	two Authorization headers                400 bad_request (RFC 9110: not a list)
//
// Requests without a valid key (none, or unknown) also spend a budget of
// their client address (rate_limit/s, burst rate_burst); once it is spent
// they get 429 too. A request with a valid key is never refused because of
// its address's failures (behind a reverse proxy all clients share one
// address, and a scanner must not lock the administrators out); only its
// own key's limit applies. This does not help guessing: keys are
// high-entropy (the superadmin key has at least [MinSuperadminKeyLen]
// characters, generated keys 32 random bytes) and are checked in constant
// time.
//
// Every 401, 403 and 429 is logged at level warn with status, remote_addr,
// reason and, for a known key, key_name (never key material); at most one
// line per address per minute, whose suppressed attribute counts the
// refusals from that address left unlogged since its previous line.
//
// # Parameters
//
//	limit       events per page, 1 to 10000 in digits; default 100
//	start_time  inclusive lower bound on event_time
//	end_time    exclusive upper bound on event_time
//	event_name  repeatable; repeats are OR: event_name=user&event_name=api_key
//	event_type  repeatable, OR
//	user_uid    repeatable, OR; whole numbers
//	order       desc (newest first, default) or asc, on (event_time, event_id)
//	            (event_time at the store's precision: the embedded store keeps
//	            nanoseconds, responses show microseconds, so events within one
//	            microsecond come in the order of their hidden nanoseconds, not
//	            of event_id)
//	cursor      the X-Next-Cursor of the previous page
//
// Different parameters combine with AND. Times are ISO 8601:
// "2021-08-17T20:51:47.268843" has no zone and is UTC (the form event_time
// takes in responses); "2021-08-17T22:51:47.268843+02:00", a "Z" suffix and a
// bare date "2021-08-17" (midnight UTC) are accepted too, and a comma may
// stand for the decimal point; the forms are exactly those of the TimeParam
// pattern of openapi.json. start_time=0001-01-01 (the zero time, Python's
// datetime.min) is the same as no start_time; end_time=0001-01-01 matches
// nothing, so the answer is []. A parameter that is
// unknown, repeated when it may not be, empty or malformed gives 400
// bad_request with a message naming it.
//
// # Responses
//
// 200 has Content-Type application/json and a plain JSON list of events,
// each with exactly six fields (see [event.Event]); [] when nothing matches:
//
//	[{"event_id":1,"event_time":"2021-08-17T20:51:47.268843","event_name":"api_key",
//	  "event_type":"create","event_details":{...},"user_uid":42}]
//
// When a page is full (as many events as limit) the response also has
//
//	X-Next-Cursor: <cursor>
//	Link: </audit-logs?limit=100&order=desc&...&cursor=<cursor>>; rel="next"
//
// The next page holds the events strictly after the last one of this page in
// the page's order, so paging while events are added returns every event
// that existed at the start exactly once; a last page may be empty. The
// cursor is opaque: base64url of the last (event_time, event_id), the
// order, the pin (below) and a digest of the other parameters (filters,
// time bounds and order, not limit), signed with HMAC-SHA256 under a secret
// derived from the superadmin key (random per process when there is none).
// A changed or foreign cursor, or one used with other parameters than those
// it was issued for, gives 400. A cursor without order= continues in the
// cursor's order. Cursors of the first format (no pin, no digest) are still
// accepted, unchecked against the parameters.
//
// In ascending order without end_time, the server's clock at the first
// page pins the pager: that page and, through its cursor, every page after
// it return only events with an earlier event_time, so the pager holds the
// same events whatever its limit (an event dated in the future, from a host
// whose clock is ahead, needs an end_time past it). Otherwise every read,
// which stores an audit_log/read event after the cursor, would make an
// ascending pager over audit_log events never end. An end_time in the future lets
// those read events in: such a pager goes on while it is behind the
// present. To follow new events, start again with start_time = the last
// event_time seen and skip the event_ids already seen. Descending pagers
// need no pin: new events are newer than their cursor.
//
// Errors have a JSON body {"error":"<code>","message":"<text>"} with the
// codes unauthorized (401), forbidden (403), bad_request (400, 405),
// not_found (404), rate_limited (429), unavailable (503: the store cannot be
// reached) and internal (500). Bodies never hold stack traces or paths.
//
// Every successful read is itself audited: [Options.OnRead] receives an
// audit_log/read event with details key_name, parameters (map from parameter
// name to its list of values), result_count and remote_addr, and the events
// are sent only once that event is stored (503 unavailable otherwise).
//
// GET /healthz answers {"status":"ok"} and GET /openapi.json serves the
// OpenAPI 3 document of the API ([OpenAPI]), both without authentication.
package query
