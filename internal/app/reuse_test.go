package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
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
	a := mustStartDemo(t)
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

// An HTTP/1.0 client, even one asking to keep the connection, gets a stream it can
// read: not chunked (1.1 only), ended by closing the connection.
func TestStreamToHTTP10ClientEndsWithTheConnection(t *testing.T) {
	a := mustStartDemo(t)
	c := newBrowser(t)
	signIn(t, c, a.URL, "7391000000000000101")
	u, _ := url.Parse(a.URL)
	var cookies []string
	for _, ck := range c.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	body := `{"bot_id":"` + cozesim.BotAssistant + `","message":"hello","stream":true}`
	fmt.Fprintf(conn, "POST /api/chat HTTP/1.0\r\nHost: %s\r\nConnection: keep-alive\r\nCookie: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		u.Host, strings.Join(cookies, "; "), len(body), body)
	raw, err := io.ReadAll(conn) // returns once the server closes the connection
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, raw)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	streamed, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || len(res.TransferEncoding) != 0 || !res.Close || !strings.Contains(string(streamed), "event: end") {
		t.Errorf("status %d, transfer encoding %v, close %v, body %q; want 200, not chunked, closed, a whole stream",
			res.StatusCode, res.TransferEncoding, res.Close, streamed)
	}
}
