// Package loggen generates realistic platform log lines for the benchmarks,
// in the shape of examples/logs/*.log: JSON objects of about 250 to 400
// bytes, about 70% audit lines ("msg":"audit") spread over every
// (event_name, event_type) of the built-in schema catalog except audit_log
// (which auditship records itself), with details that validate, and about
// 30% ordinary request, warning and job lines, some of which only look like
// audit lines. The output depends only on the seed.
package loggen

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Gen produces lines. It is not safe for concurrent use.
type Gen struct {
	r       *rand.Rand
	eventID int64 // next auth-service event_id
	reqs    uint64
}

// New returns a generator seeded with seed.
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), eventID: 900001}
}

// w is a tiny JSON object writer for generated (ASCII, escape-free or
// escaped here) keys and values.
type w struct{ b []byte }

func (o *w) key(k string) {
	if n := len(o.b); n > 0 && o.b[n-1] != '{' {
		o.b = append(o.b, ',')
	}
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *w) str(k, v string) {
	o.key(k)
	o.b = append(o.b, '"')
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '"' || c == '\\' {
			o.b = append(o.b, '\\')
		}
		o.b = append(o.b, v[i])
	}
	o.b = append(o.b, '"')
}

func (o *w) num(k string, v int64) { o.key(k); o.b = strconv.AppendInt(o.b, v, 10) }
func (o *w) flt(k string, v float64) {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, v, 'f', 1, 64)
}
func (o *w) open(k string) { o.key(k); o.b = append(o.b, '{') }
func (o *w) close()        { o.b = append(o.b, '}') }
func (o *w) nums(k string, vs ...int64) {
	o.key(k)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = strconv.AppendInt(o.b, v, 10)
	}
	o.b = append(o.b, ']')
}
func (o *w) strs(k string, vs ...string) {
	o.key(k)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = append(o.b, '"')
		o.b = append(o.b, v...)
		o.b = append(o.b, '"')
	}
	o.b = append(o.b, ']')
}

var (
	users     = []string{"admin", "grace.hopper", "ada.lovelace", "alan.turing", "katherine.johnson", "margaret.hamilton", "edsger.dijkstra", "barbara.liskov"}
	roles     = []string{"annotator", "developer", "reviewer", "admin", "viewer"}
	splits    = []string{"train", "valid", "test", "dev"}
	labels    = []string{"fraud", "legit", "needs_review", "duplicate"}
	datasets  = []string{"insurance-claims-2026q4", "support-tickets-emea", "contracts-redline", "radiology-notes", "claims-sandbox", "kyc-documents"}
	apps      = []string{"claims-classifier", "ticket-router", "contract-extractor", "notes-summariser", "kyc-screening"}
	templates = []string{"text_classification", "sequence_tagging", "document_extraction", "conversation"}
	providers = [][2]string{{"openai", "gpt-4o-mini"}, {"azure_openai", "gpt-4o"}, {"anthropic", "claude-3-5-haiku"}, {"vertexai", "gemini-1.5-flash"}}
	packages  = []string{"rapidfuzz==3.10.1", "langdetect==1.0.9", "spacy==3.7.5", "pyarrow==17.0.0", "regex==2024.9.11", "scikit-learn==1.5.2"}
	methods   = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	paths     = []string{"/api/v1/workspaces", "/api/v1/datasets", "/api/v1/datasets/12/datasources", "/api/v1/applications/8/nodes", "/api/v1/batches", "/api/v1/training-sets", "/healthz", "/api/v1/users/me"}
	services  = []string{"api-server", "auth-service", "studio", "workers"}
	lookalike = []string{"audit export finished", "Audit", "audit buffer flushed", "audit retention check", "audit trail viewed"}
	alnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// kinds lists every (event_name, event_type) of the built-in catalog that the
// platform logs, with the service that logs it.
var kinds = []struct{ service, name, typ string }{
	{"studio", "annotation", "create"}, {"studio", "annotation", "delete"}, {"studio", "annotation", "commit"}, {"studio", "annotation", "transfer"},
	{"api-server", "application", "create"}, {"api-server", "application", "update"}, {"api-server", "application", "delete"},
	{"api-server", "batch", "create"}, {"api-server", "batch", "update"}, {"api-server", "batch", "delete"},
	{"workers", "training_set", "create"}, {"api-server", "training_set", "update"}, {"api-server", "training_set", "delete"},
	{"api-server", "dataset", "create"}, {"api-server", "dataset", "delete"},
	{"api-server", "datasource", "create"}, {"api-server", "datasource", "delete"},
	{"studio", "lf", "create"}, {"studio", "lf", "delete"},
	{"auth-service", "user", "create"}, {"auth-service", "user", "update"}, {"auth-service", "user", "delete"},
	{"auth-service", "user_role", "assign"}, {"auth-service", "user_role", "remove"}, {"auth-service", "user_role", "create"},
	{"auth-service", "api_key", "create"}, {"auth-service", "api_key", "delete"},
	{"auth-service", "login", "login"},
	{"api-server", "workspace", "create"}, {"api-server", "workspace", "update"},
	{"api-server", "external_llm_config", "create"},
	{"workers", "custom_pip_install", "install"},
}

func (g *Gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *Gen) uid(n int) int64        { return int64(1 + g.r.IntN(n)) }

func (g *Gen) hexs(n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[g.r.IntN(16)]
	}
	return string(b)
}

func (g *Gen) alnums(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.r.IntN(len(alnum))]
	}
	return string(b)
}

// Line appends one line (without newline) with timestamp ts to dst and
// reports whether it is an audit line.
func (g *Gen) Line(dst []byte, ts time.Time) ([]byte, bool) {
	o := w{b: append(dst, '{')}
	o.key("ts")
	o.b = append(o.b, '"')
	o.b = ts.UTC().AppendFormat(o.b, "2006-01-02T15:04:05.000000Z07:00")
	o.b = append(o.b, '"')
	audit := g.r.IntN(100) < 70
	var k = kinds[g.r.IntN(len(kinds))]
	svc := k.service
	if !audit {
		svc = g.pick(services)
	}
	level := "info"
	if !audit && g.r.IntN(8) == 0 {
		level = "warn"
	}
	o.str("level", level)
	o.str("service", svc)
	o.str("host", svc+"-"+g.hexs(6)+"-"+g.alnums(5))
	g.reqs++
	reqID := "req-" + g.hexs(8)
	if audit {
		o.str("msg", "audit")
		o.str("request_id", reqID)
		o.str("span_id", g.hexs(16))
		o.open("audit")
		if svc == "auth-service" {
			o.num("event_id", g.eventID)
			g.eventID++
		}
		o.str("resource", k.name)
		o.str("action", k.typ)
		o.num("user_uid", g.uid(8))
		o.open("details")
		g.details(&o, k.name, k.typ)
		o.close()
		o.close()
		o.close()
		return o.b, true
	}
	n := g.r.IntN(20)
	if n < 6 {
		o.str("trace_id", g.hexs(32))
	}
	switch {
	case n == 0:
		o.str("msg", g.pick(lookalike))
		o.num("exported", int64(g.r.IntN(5000)))
		o.str("request_id", reqID)
		if g.r.IntN(2) == 0 {
			o.open("audit")
			o.num("buffered", int64(g.r.IntN(512)))
			o.close()
		}
	case n < 4:
		o.str("msg", "slow query")
		o.str("query", "list_datasources")
		o.flt("duration_ms", 1000+g.r.Float64()*4000)
		o.str("request_id", reqID)
		o.str("db_host", "pg-primary-"+strconv.Itoa(g.r.IntN(3))+".internal.example")
	case n < 6:
		o.str("msg", "job progress")
		o.str("job_id", "job-"+strconv.Itoa(48000+g.r.IntN(1000)))
		o.str("job_type", g.pick([]string{"ingestion", "training_set_build", "featurize"}))
		o.num("done", int64(g.r.IntN(120000)))
		o.num("total", 120512)
		o.flt("rate_per_s", g.r.Float64()*900)
	default:
		o.str("msg", "request completed")
		o.str("method", g.pick(methods))
		o.str("path", g.pick(paths))
		o.num("status", []int64{200, 200, 200, 201, 204, 404, 500}[g.r.IntN(7)])
		o.flt("duration_ms", g.r.Float64()*250)
		o.str("request_id", reqID)
		o.str("remote_addr", "10.20."+strconv.Itoa(g.r.IntN(256))+"."+strconv.Itoa(g.r.IntN(256)))
		o.str("user_agent", g.pick([]string{"snorkelflow-sdk/0.96.1 python/3.11.9", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0", "kube-probe/1.30"}))
	}
	o.close()
	return o.b, false
}

// details writes event_details that validate against the built-in schema of
// (name, typ).
func (g *Gen) details(o *w, name, typ string) {
	switch name {
	case "annotation":
		switch typ {
		case "create", "delete":
			o.num("annotation_uid", 3000+g.uid(100000))
			o.num("dataset_uid", g.uid(40))
			o.num("label_schema_uid", g.uid(6))
			o.str("x_uid", "doc::"+strconv.Itoa(g.r.IntN(200000)))
			if typ == "create" {
				o.num("source_uid", g.uid(20))
				o.str("label", g.pick(labels))
			}
		case "commit":
			o.num("dataset_uid", g.uid(40))
			o.num("label_schema_uid", g.uid(6))
			o.num("source_uid", g.uid(20))
			a := 3000 + g.uid(100000)
			o.num("num_annotations", 3)
			o.nums("annotation_uids", a, a+1, a+2)
		case "transfer":
			o.num("dataset_uid", g.uid(40))
			o.num("label_schema_uid", g.uid(6))
			o.num("from_user_uid", g.uid(8))
			o.num("to_user_uid", g.uid(8))
			o.num("num_annotations", g.uid(500))
		}
	case "application":
		o.num("application_uid", g.uid(60))
		o.str("application_name", g.pick(apps))
		switch typ {
		case "create":
			o.num("workspace_uid", g.uid(10))
			o.str("template_id", g.pick(templates))
		case "update":
			o.open("changes")
			o.strs("label_space", "fraud", "legit", "needs_review")
			if g.r.IntN(50) == 0 {
				o.str("webhook_header", "Authorization: Bearer "+g.alnums(28))
			} else {
				o.str("description", "updated by the review team")
			}
			o.close()
		}
	case "batch":
		o.num("batch_uid", g.uid(500))
		o.num("dataset_uid", g.uid(40))
		switch typ {
		case "create":
			o.str("name", "review round "+strconv.Itoa(g.r.IntN(30)))
			o.str("split", g.pick(splits))
			o.num("num_datapoints", g.uid(2000))
			o.nums("assignees", g.uid(8), g.uid(8))
		case "update":
			o.nums("assignees", g.uid(8), g.uid(8), g.uid(8))
			o.open("changes")
			o.nums("assignees", g.uid(8))
			o.close()
		case "delete":
			o.str("name", "scratch-"+g.hexs(4))
		}
	case "training_set":
		o.num("training_set_uid", g.uid(300))
		o.num("model_node_uid", g.uid(40))
		o.str("name", "ts-v"+strconv.Itoa(g.r.IntN(40)))
		switch typ {
		case "create":
			o.num("num_datapoints", g.uid(200000))
		case "update":
			o.open("changes")
			o.str("filter", "label != 'needs_review'")
			o.close()
		}
	case "dataset":
		o.num("dataset_uid", g.uid(40))
		o.str("name", g.pick(datasets))
		if typ == "create" {
			o.num("workspace_uid", g.uid(10))
			o.str("description", "Claims filed Oct-Nov 2026")
		}
	case "datasource":
		o.num("datasource_uid", g.uid(400))
		o.num("dataset_uid", g.uid(40))
		sp := g.pick(splits)
		o.str("split", sp)
		if typ == "create" {
			o.str("path", "s3://acme-ml-data/claims/2026q4/"+sp+".parquet")
			o.num("num_rows", g.uid(200000))
		}
	case "lf":
		o.num("lf_uid", g.uid(900))
		o.num("node_uid", g.uid(40))
		o.str("name", "kw_"+g.pick(labels)+"_"+g.hexs(3))
		if typ == "create" {
			o.str("label", g.pick(labels))
			o.str("template_type", "keyword")
		}
	case "user":
		u := g.pick(users)
		o.num("user_uid", g.uid(200))
		o.str("username", u)
		switch typ {
		case "create":
			o.str("role", g.pick(roles))
			o.str("email", u+"@example.com")
		case "update":
			o.open("changes")
			o.strs("role", g.pick(roles), g.pick(roles))
			o.close()
		}
	case "user_role":
		if typ == "create" {
			o.num("role_uid", g.uid(40))
			o.str("role_name", "label-"+g.pick(roles))
			o.strs("permissions", "annotation.read", "annotation.commit", "batch.read")
		} else {
			o.num("user_uid", g.uid(200))
			o.str("role", g.pick(roles))
			o.num("workspace_uid", g.uid(10))
		}
	case "api_key":
		o.num("api_key_uid", g.uid(400))
		o.str("censored_key", "************************************************************"+g.alnums(4))
		o.str("name", g.pick([]string{"ci-pipeline", "old-laptop", "notebook", "airflow"}))
		if typ == "create" {
			o.str("expires_at", "2027-02-26T00:00:00Z")
		}
	case "login":
		u := g.uid(8)
		o.num("user_uid", u)
		o.str("username", users[u-1])
		o.str("auth_method", g.pick([]string{"password", "oidc", "saml"}))
		o.str("remote_addr", "10.20."+strconv.Itoa(g.r.IntN(256))+"."+strconv.Itoa(g.r.IntN(256)))
	case "workspace":
		o.num("workspace_uid", g.uid(10))
		o.str("name", g.pick([]string{"claims-triage", "support-emea", "legal-review"}))
		if typ == "update" {
			o.open("changes")
			o.str("description", "Fraud triage for Q4 claims")
			o.close()
		}
	case "external_llm_config":
		p := providers[g.r.IntN(len(providers))]
		o.num("config_uid", g.uid(30))
		o.str("provider", p[0])
		o.str("model_name", p[1])
		o.num("workspace_uid", g.uid(10))
		o.str("endpoint_url", "https://llm-gateway.internal.example/v1")
		o.str("api_key", "sk-demo-NOTREAL"+g.alnums(14))
	case "custom_pip_install":
		o.strs("packages", g.pick(packages), g.pick(packages))
		o.str("node_name", g.pick(apps)+"/featurizer")
		o.str("index_url", "https://pypi.org/simple")
		o.num("exit_code", 0)
	}
}
