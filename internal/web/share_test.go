package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/testkit"
)

// openStream starts a streamed chat and reads until Coze named the chat; the
// caller owns the open body.
func openStream(t *testing.T, e *testEnv, c *http.Client, botID, msg string) (res *http.Response, convID, chatID string) {
	t.Helper()
	res = postOpen(t, e, c, "/api/chat", map[string]any{"bot_id": botID, "message": msg, "stream": true})
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("stream %q: status %d %s", msg, res.StatusCode, b)
	}
	head := readEvents(t, res.Body, func(ev sseEvent) bool { return ev.name == "chat" })
	convID, chatID = chatIDs(t, head)
	return res, convID, chatID
}

func mustTooMany(t *testing.T, what string, r resp, code string) {
	t.Helper()
	mustStatus(t, what, r, http.StatusTooManyRequests)
	if r.errorCode() != code {
		t.Errorf("%s: code %q, want %q", what, r.errorCode(), code)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: Retry-After = %q, want whole seconds", what, r.header.Get("Retry-After"))
	}
	eb := r.errorBody()
	if eb["message"] == "" || !strings.Contains(eb["hint"], "seconds") {
		t.Errorf("%s: error %v, want a message and a hint in plain words", what, eb)
	}
}

// waitFor polls cond until it holds (testkit.WaitFor).
func waitFor(t *testing.T, what string, cond func() bool) { t.Helper(); testkit.WaitFor(t, what, cond) }

// Catalog case 73 (issue 8 item 3): one user's replies in progress are
// capped (default chat.DefaultMaxRepliesPerUser); a reply whose browser left still counts until it ends;
// over the cap: 429 JSON with Retry-After, in plain words. Others are not
// affected.
func TestCase73_RepliesPerUser(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	// Every reply stalls after two events, until stopped.
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", SilentAfterEvents: 2})
	alan := signIn(t, e, cozesim.UserAlan)
	bea := signIn(t, e, cozesim.UserBea)
	alanID := e.world.User(t, cozesim.UserAlan).ID

	type open struct {
		res            *http.Response
		convID, chatID string
	}
	var streams []open
	max := chat.DefaultMaxRepliesPerUser
	for i := range max {
		res, conv, chatID := openStream(t, e, alan, cozesim.BotAssistant, fmt.Sprintf("reply %d", i+1))
		streams = append(streams, open{res, conv, chatID})
	}
	defer func() {
		for _, s := range streams {
			s.res.Body.Close()
		}
	}()
	body := map[string]any{"bot_id": cozesim.BotAssistant, "message": "a fifth", "stream": true}
	mustTooMany(t, "fifth reply", e.api(alan, "POST", "/api/chat", body), "too_many_replies")
	mustTooMany(t, "fifth reply, non-stream", e.api(alan, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "x"}), "too_many_replies")
	if m := e.api(alan, "POST", "/api/chat", body).errorBody()["message"]; !strings.Contains(m, fmt.Sprintf("%d replies", max)) {
		t.Errorf("message %q does not say how many replies run", m)
	}

	// Someone else is not affected.
	gres, gconv, gchat := openStream(t, e, bea, cozesim.BotAssistant, "bea's reply")
	gres.Body.Close()
	defer e.api(bea, "POST", "/api/chat/cancel", map[string]string{"conversation_id": gconv, "chat_id": gchat})

	// The browser of one reply leaves: the reply goes on upstream, and counts.
	streams[0].res.Body.Close()
	if n := e.chat.RepliesInProgress(alanID); n != max {
		t.Fatalf("replies in progress after a tab closed = %d, want %d", n, max)
	}
	mustTooMany(t, "after a tab closed", e.api(alan, "POST", "/api/chat", body), "too_many_replies")

	// Stop ends it; then there is room again.
	r := e.api(alan, "POST", "/api/chat/cancel", map[string]string{"conversation_id": streams[0].convID, "chat_id": streams[0].chatID})
	mustStatus(t, "stop", r, http.StatusOK)
	waitFor(t, "the stopped reply to end", func() bool { return e.chat.RepliesInProgress(alanID) == max-1 })
	res, conv, chatID := openStream(t, e, alan, cozesim.BotAssistant, "after a stop")
	res.Body.Close()
	// Stop the stalled replies, so the test ends without waiting for them.
	streams = append(streams[1:], open{res, conv, chatID})
	for _, s := range streams {
		e.api(alan, "POST", "/api/chat/cancel", map[string]string{"conversation_id": s.convID, "chat_id": s.chatID})
	}
	waitFor(t, "every reply stopped", func() bool { return e.chat.RepliesInProgress(alanID) == 0 })
}

// Catalog case 73: chats per minute per user, configurable.
func TestCase73_ChatsPerMinute(t *testing.T) {
	e := newTestEnv(t, envOpts{web: func(d *Deps) { d.ChatsPerMinute = 3 }})
	alan := signIn(t, e, cozesim.UserAlan)
	bea := signIn(t, e, cozesim.UserBea)
	for i := range 3 {
		mustChat(t, e, alan, cozesim.BotAssistant, fmt.Sprintf("chat %d", i+1), "")
	}
	r := e.api(alan, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "one too many"})
	mustTooMany(t, "fourth chat in a minute", r, "too_many_chats")
	if s, _ := strconv.Atoi(r.header.Get("Retry-After")); s > 20 {
		t.Errorf("Retry-After = %d s, want at most the 20 s until the next token", s)
	}
	mustChat(t, e, bea, cozesim.BotAssistant, "bea is not limited by alan", "")
}

// stalledUpload starts an upload whose body never finishes; closing the
// returned writer aborts it.
func stalledUpload(t *testing.T, e *testEnv, c *http.Client) (abort func(), done <-chan resp) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	ch := make(chan resp, 1)
	hr, _ := http.NewRequestWithContext(t.Context(), "POST", e.url+"/api/files", pr)
	hr.Header.Set("Content-Type", mw.FormDataContentType())
	hr.Header.Set("Sec-Fetch-Site", "same-origin")
	go func() {
		res, err := c.Do(hr)
		if err != nil {
			ch <- resp{}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		ch <- resp{status: res.StatusCode, header: res.Header, body: b}
	}()
	part, _ := mw.CreateFormFile("file", "big.csv")
	_, _ = part.Write(bytes.Repeat([]byte("a"), 64<<10))
	return func() { pw.CloseWithError(io.ErrUnexpectedEOF) }, ch
}

// Catalog case 73: uploads in flight per user (default 2).
func TestCase73_UploadsInFlight(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	alan := signIn(t, e, cozesim.UserAlan)
	bea := signIn(t, e, cozesim.UserBea)
	alanID := e.world.User(t, cozesim.UserAlan).ID
	abort1, done1 := stalledUpload(t, e, alan)
	abort2, done2 := stalledUpload(t, e, alan)
	slots := func() int {
		// The handler's table, read under its lock.
		s := e.server()
		s.uploadsMu.Lock()
		defer s.uploadsMu.Unlock()
		return s.uploads[alanID]
	}
	waitFor(t, "two uploads in flight", func() bool { return slots() == 2 })
	ctype, body := multipartBody(t, "file", "note.csv", []byte("hello"))
	upload := func(c *http.Client) resp {
		return e.send(c, req{method: "POST", path: "/api/files", ctype: ctype, body: body, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	}
	mustTooMany(t, "third upload", upload(alan), "too_many_uploads")
	mustStatus(t, "bea uploads meanwhile", upload(bea), http.StatusOK)
	abort1()
	abort2()
	<-done1
	<-done2
	waitFor(t, "the aborted uploads to free their slots", func() bool { return slots() == 0 })
	mustStatus(t, "upload after the others ended", upload(alan), http.StatusOK)
}

// The load probe of case 73: 3 users × 2 uploads of 20 MiB at once. An
// upload is spooled to a temporary file, so the heap holds no body; printed:
// the peak heap while they run and the bytes allocated per upload.
func TestCase73_UploadMemoryFigures(t *testing.T) {
	e := newTestEnv(t, envOpts{quiet: true})
	users := []string{cozesim.UserAlan, cozesim.UserBea, cozesim.UserChen}
	var clients []*http.Client
	for _, u := range users {
		clients = append(clients, signIn(t, e, u))
	}
	data := bytes.Repeat([]byte("coze2app upload probe\n"), (20<<20)/22)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, _ := mw.CreateFormFile("file", "big.csv")
	_, _ = part.Write(data)
	_ = mw.Close()
	payload, ctype := buf.Bytes(), mw.FormDataContentType()

	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	base := heapInUse()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, c := range clients {
		for range 2 {
			wg.Go(func() {
				hr, _ := http.NewRequestWithContext(context.Background(), "POST", e.url+"/api/files", bytes.NewReader(payload))
				hr.Header.Set("Content-Type", ctype)
				hr.Header.Set("Sec-Fetch-Site", "same-origin")
				res, err := c.Do(hr)
				if err != nil {
					failed.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			})
		}
	}
	wg.Wait()
	runtime.ReadMemStats(&ms1)
	close(stop)
	sampler.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of 6 uploads failed", failed.Load())
	}
	// Client-side copies of the payload count in this process too: report
	// the server's share as allocation per upload.
	t.Logf("figures: 6 concurrent 20 MiB uploads (3 users × 2): heap at start %d MiB, peak %d MiB (+%d MiB, the test's own 20 MiB payload included), allocated %d MiB in all (%d MiB per upload)",
		base>>20, peak.Load()>>20, (int64(peak.Load())-int64(base))>>20, (ms1.TotalAlloc-ms0.TotalAlloc)>>20, (ms1.TotalAlloc-ms0.TotalAlloc)/6>>20)
}

// postOpen POSTs body as JSON from the page's origin and returns the answer
// with its body open (a stream the caller reads and closes).
func postOpen(t testing.TB, e *testEnv, c *http.Client, path string, body any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	hr, _ := http.NewRequestWithContext(t.Context(), "POST", e.url+path, bytes.NewReader(b))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
