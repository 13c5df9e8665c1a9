package app

import (
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Issue 13: two instances on one PostgreSQL behind Debian's nginx with the
// shipped config and a self-signed certificate act as one. A reply streams
// from instance A; A is stopped (SIGTERM) mid-reply; its relay ends with the
// retry hint, the browser reconnects through nginx with Last-Event-ID, lands
// on B, and receives the rest of the same reply while A, draining, still
// reads it from Coze: every event once, in order, and the history holds the
// whole answer.
func TestNginxTwoInstancesHandOver(t *testing.T) {
	bin := nginxBinary(t)
	dbURL := storetest.PostgresURL(t)
	dir := t.TempDir()
	cert := writeSelfSigned(t, dir, 6002)
	front, plainFront := freeAddr(t), freeAddr(t)
	public := "https://" + front

	_, simSrv := externalSim(t, public+"/callback", cozesim.Options{DeltaDelay: 10 * time.Millisecond})
	env := realModeEnv(simSrv.URL, "127.0.0.1:0", dbURL)
	env["COZE_REDIRECT_URI"] = public + "/callback"
	env["COZE2APP_PUBLIC_URL"] = public
	a := mustStart(t, env)
	b := mustStart(t, env)
	site := siteSubst(cert, front, plainFront, a.URL)
	// B as backup: every request goes to A while A answers, so the stream
	// starts on A; B takes over when A refuses connections.
	site["# server 127.0.0.1:5001;"] = "server " + strings.TrimPrefix(b.URL, "http://") + " backup;"
	startNginx(t, bin, dir, front, site)
	c := tlsBrowser(t, cert.leaf)
	signIn(t, c, public, "7391000000000000101")

	s := openChatStream(t, c, public, "hand over chunk=2")
	first, ok := s.next(t)
	if !ok || first.name != "chat" {
		t.Fatalf("first event = %+v, want chat", first)
	}
	defer s.Close()
	convID, chatID := first.field(t, "conversation_id"), first.field(t, "chat_id")
	var text strings.Builder
	read := func(s *chatStream) (end sseEvent) {
		for {
			ev, ok := s.next(t)
			if !ok {
				return end
			}
			switch ev.name {
			case "delta":
				text.WriteString(ev.field(t, "text"))
			case "end":
				end = ev
			}
		}
	}
	for deltas := 0; deltas < 5; {
		ev, ok := s.next(t)
		if !ok || ev.name == "end" {
			t.Fatalf("reply ended before A was stopped: %+v", ev)
		}
		if ev.name == "delta" {
			deltas++
			text.WriteString(ev.field(t, "text"))
		}
	}

	go a.Close() // SIGTERM: A drains
	end := read(s)
	if end.id != "" || end.field(t, "code") != "server_shutdown" {
		t.Fatalf("A's relay ended with %+v, want an end without id, code server_shutdown", end)
	}

	rest := resumeChatStream(t, c, public, chatID, s.lastID) // through nginx, to B
	defer rest.Close()
	end = read(rest)
	if end.id == "" || end.field(t, "status") != "completed" {
		t.Fatalf("resumed stream ended with %+v, want the reply's end completed", end)
	}
	if err := a.stop(t); err != nil {
		t.Errorf("instance A: %v", err)
	}

	var hist struct {
		Messages []struct {
			Role, Content, Status string
			ChatID                string `json:"chat_id"`
		} `json:"messages"`
	}
	if code := getJSON(t, c, public+"/api/conversations/"+convID+"/messages", &hist); code != 200 {
		t.Fatalf("history = %d", code)
	}
	for _, m := range hist.Messages {
		if m.Role == "assistant" && m.ChatID == chatID {
			if m.Status != "complete" || m.Content != text.String() {
				t.Errorf("history holds %s %q, want complete with the streamed %q", m.Status, m.Content, text.String())
			}
			return
		}
	}
	t.Errorf("history has no reply %s: %+v", chatID, hist.Messages)
}
