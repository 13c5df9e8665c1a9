package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// A streamed reply over plain HTTP/1.1 is relayed on a connection taken over from
// net/http (chat.Service.Relay), yet the browser's keep-alive connection serves the
// next requests: the stream is chunked and complete, and the connection is accepted
// again when it ends.
func TestStreamsKeepTheBrowserConnection(t *testing.T) {
	dir := t.TempDir()
	a := mustStart(t, map[string]string{
		"COZE2APP_ADDR":            "127.0.0.1:0",
		"COZE2APP_DATABASE_URL":    "sqlite:" + dir + "/coze2app.db",
		"COZE2APP_SIM_DELTA_DELAY": "0s",
	})
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn(t, c, a.URL, "7391000000000000101")

	var reused []bool
	do := func(req *http.Request) *http.Response {
		t.Helper()
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) },
		}))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := range 3 {
		b, _ := json.Marshal(map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello", "stream": true})
		req, _ := http.NewRequest("POST", a.URL+"/api/chat", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res := do(req)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || !strings.Contains(string(body), "event: end") {
			t.Fatalf("stream %d: status %d, err %v, body %q; want a whole stream", i, res.StatusCode, err, body)
		}
		if got := res.TransferEncoding; len(got) != 1 || got[0] != "chunked" || res.Close {
			t.Errorf("stream %d: transfer encoding %v, close %v; want chunked and kept alive", i, got, res.Close)
		}
		req, _ = http.NewRequest("GET", a.URL+"/api/auth/status", nil)
		res = do(req)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status after stream %d = %d, want 200", i, res.StatusCode)
		}
	}
	for i, r := range reused {
		if !r {
			t.Errorf("request %d of %d opened a new connection (reused: %v), want one for all", i+1, len(reused), reused)
			break
		}
	}
	if err := a.stop(t); err != nil {
		t.Fatalf("Run returned %v after shutdown, want nil", err)
	}
}
