package testes

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServer_KeepsDataAcrossRestart checks what the outage tests rely on: a
// document acknowledged before Stop is there after Start.
func TestServer_KeepsDataAcrossRestart(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	body := `{"create":{"_index":"restart-1","_id":"7"}}` + "\n" + `{"n":7}` + "\n"
	res, err := Do(t, http.MethodPost, s.URL()+"/_bulk", []byte(body))
	if err != nil || res.Status >= 300 || strings.Contains(string(res.Body), `"errors":true`) {
		t.Fatalf("bulk: %v %d %s", err, res.Status, res.Body)
	}
	start := time.Now()
	s.Stop()
	s.Start()
	t.Logf("restart took %s", time.Since(start))
	Poll(t, 20*time.Second, func() error {
		res, err := Do(t, http.MethodPost, s.URL()+"/restart-1/_search", []byte(`{"query":{"match_all":{}}}`))
		if err != nil {
			return err
		}
		if res.Status != 200 || !strings.Contains(string(res.Body), `"n":7`) {
			return &httpError{res}
		}
		return nil
	})
}

// TestFaultProxy_HoldNextBulk checks that a held bulk reaches the server
// while its client still waits.
func TestFaultProxy_HoldNextBulk(t *testing.T) {
	t.Parallel()
	base := URL(t)
	prefix := IndexPrefix(t, base)
	p := NewFaultProxy(t, base)
	forwarded := p.HoldNextBulk()
	body := `{"create":{"_index":"` + prefix + `-1","_id":"1"}}` + "\n" + `{"n":1}` + "\n"
	answered := make(chan Response, 1)
	go func() {
		res, _ := Do(t, http.MethodPost, p.URL()+"/_bulk", []byte(body))
		answered <- res
	}()
	select {
	case <-forwarded:
	case <-time.After(10 * time.Second):
		t.Fatal("bulk not forwarded within 10s")
	}
	select {
	case res := <-answered:
		t.Fatalf("answer arrived while held: %d %s", res.Status, res.Body)
	case <-time.After(200 * time.Millisecond):
	}
	p.ReleaseHeld()
	if res := <-answered; res.Status != 200 {
		t.Fatalf("released answer: %d %s", res.Status, res.Body)
	}
}

type httpError struct{ res Response }

func (e *httpError) Error() string { return string(e.res.Body) }
