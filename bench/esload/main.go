// Command esload is the bare Elasticsearch loader auditship is compared
// with: it reads events (the NDJSON that the file output writes, six fields
// per line), builds the same documents the elasticsearch output sends
// (event_time with Z, event_time_us, event_details as a string plus the
// searchable copy under details.<event_name>), all before the clock starts,
// then creates them with go-elasticsearch's esutil.BulkIndexer at its
// defaults and reports the bulk-acknowledged rate.
//
//	esload -in events.ndjson -url http://127.0.0.1:4090/es -user admin -password secret -index esload-2026.11
//
// It prints one JSON line: documents, failed, seconds, docs/s.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/auditship/auditship/event"
)

func main() {
	in := flag.String("in", "", "events NDJSON (required)")
	url := flag.String("url", "http://127.0.0.1:4090/es", "Elasticsearch API base URL")
	user := flag.String("user", "admin", "basic auth user")
	password := flag.String("password", os.Getenv("ES_PASSWORD"), "basic auth password (default $ES_PASSWORD)")
	index := flag.String("index", "esload-2026.11", "index to create documents in")
	flag.Parse()
	if err := run(*in, *url, *user, *password, *index); err != nil {
		fmt.Fprintln(os.Stderr, "esload:", err)
		os.Exit(1)
	}
}

type doc struct {
	id   string
	body []byte
}

func run(in, url, user, password, index string) error {
	docs, err := load(in)
	if err != nil {
		return err
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}, Username: user, Password: password})
	if err != nil {
		return err
	}
	var failed atomic.Int64
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: es, Index: index})
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	for _, d := range docs {
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Action: "create", DocumentID: d.id, Body: bytes.NewReader(d.body),
			OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) {
				failed.Add(1)
			},
		})
		if err != nil {
			return err
		}
	}
	if err := bi.Close(ctx); err != nil {
		return err
	}
	sec := time.Since(start).Seconds()
	st := bi.Stats()
	fmt.Printf("{\"documents\":%d,\"acked\":%d,\"failed\":%d,\"seconds\":%.3f,\"docs_per_s\":%.0f}\n",
		len(docs), st.NumCreated+st.NumIndexed, failed.Load(), sec, float64(len(docs))/sec)
	return nil
}

// load reads events and builds their documents.
func load(path string) ([]doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []doc
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("read %q: %w", path, err)
		}
		details, err := event.MarshalDetails(e.Details)
		if err != nil {
			return nil, err
		}
		ds, _ := json.Marshal(string(details))
		var b []byte
		b = append(b, `{"event_id":`...)
		b = strconv.AppendInt(b, e.ID, 10)
		b = append(b, `,"event_time":"`...)
		b = e.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
		b = append(b, `","event_time_us":`...)
		b = strconv.AppendInt(b, e.Time.UnixMicro(), 10)
		b = append(b, `,"event_name":`...)
		b = strconv.AppendQuote(b, e.Name)
		b = append(b, `,"event_type":`...)
		b = strconv.AppendQuote(b, e.Type)
		b = append(b, `,"user_uid":`...)
		b = strconv.AppendInt(b, e.UserUID, 10)
		b = append(b, `,"event_details":`...)
		b = append(b, ds...)
		b = append(b, `,"details":{"`...)
		b = append(b, e.Name...)
		b = append(b, `":`...)
		b = append(b, details...)
		b = append(b, "}}"...)
		docs = append(docs, doc{id: strconv.FormatInt(e.ID, 10), body: b})
	}
	return docs, sc.Err()
}
