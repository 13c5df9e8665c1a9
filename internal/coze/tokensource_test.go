package coze

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// rotatingSource hands out old first and fresh after a refusal, and records each refusal.
type rotatingSource struct {
	old, fresh AccessToken
	againErr   error // returned when the fresh token is refused too
	mu         sync.Mutex
	rejected   []string
}

func (s *rotatingSource) Token(context.Context) (AccessToken, error) { return s.old, nil }

func (s *rotatingSource) Rejected(_ context.Context, tok AccessToken, again bool) (AccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tag := "first"
	if again {
		tag = "again"
	}
	s.rejected = append(s.rejected, string(tok)+"/"+tag)
	if again {
		return "", s.againErr
	}
	return s.fresh, nil
}

// tokenCoze refuses every token but good with 4100: as a JSON envelope, or for stream
// requests as an event stream whose first event is the error (coze-protocol E4).
type tokenCoze struct {
	good   string
	mu     sync.Mutex
	auths  []string
	bodies [][]byte
}

func (z *tokenCoze) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	z.mu.Lock()
	z.auths = append(z.auths, auth)
	z.bodies = append(z.bodies, body)
	z.mu.Unlock()
	stream := r.Header.Get("Accept") == "text/event-stream"
	if auth != z.good {
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "event: error\ndata: {\"code\":4100,\"msg\":\"token invalid\"}\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"code":4100,"msg":"token invalid"}`)
		return
	}
	if stream {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: conversation.chat.created\ndata: {\"id\":\"9\"}\n\nevent: done\ndata: \"[DONE]\"\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"code":0,"data":{"id":"f1","file_name":"a.pdf","bytes":3,"user_id":"u1"}}`)
}

func newTokenCoze(t *testing.T, good string) (*tokenCoze, *Client) {
	t.Helper()
	z := &tokenCoze{good: good}
	srv := httptest.NewServer(z)
	t.Cleanup(srv.Close)
	c := New(Options{APIBase: srv.URL, ClientID: testClientID, RedirectURI: testRedirect})
	c.backoff = func(int) time.Duration { return time.Millisecond }
	return z, c
}

// A refused token is refreshed once and the call retried; a fresh token refused again ends
// the call with the source's error (no third attempt); a fixed token has nothing fresher.
func TestRefusedTokenRetry(t *testing.T) {
	errGone := errors.New("grant gone")
	tests := []struct {
		name         string
		good         string
		src          TokenSource
		wantErr      error // nil: success; else errors.Is and 4100
		wantAuths    string
		wantRejected string
	}{
		{"refreshed once and retried", "fresh", &rotatingSource{old: "old", fresh: "fresh"}, nil, "old,fresh", "old/first"},
		{"fresh token refused ends after one retry", "never", &rotatingSource{old: "old", fresh: "fresh", againErr: errGone}, errGone, "old,fresh", "old/first,fresh/again"},
		{"fixed token refused is returned as is", "never", AccessToken("old"), nil, "old", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, c := newTokenCoze(t, tt.good)
			_, err := c.Me(t.Context(), tt.src)
			switch {
			case tt.good == "never" && (!IsTokenInvalid(err) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr))):
				t.Fatalf("err = %v, want 4100 (wrapped in %v)", err, tt.wantErr)
			case tt.good != "never" && err != nil:
				t.Fatalf("Me: %v", err)
			}
			if got := strings.Join(z.auths, ","); got != tt.wantAuths {
				t.Errorf("tokens sent = %s, want %s", got, tt.wantAuths)
			}
			if rs, ok := tt.src.(*rotatingSource); ok {
				if got := strings.Join(rs.rejected, ","); got != tt.wantRejected {
					t.Errorf("refusals reported = %s, want %s", got, tt.wantRejected)
				}
			}
		})
	}
}

func TestUploadRetriedAfterRefusalSendsTheWholeBodyAgain(t *testing.T) {
	z, c := newTokenCoze(t, "fresh")
	src := &rotatingSource{old: "old", fresh: "fresh"}
	data := bytes.Repeat([]byte("%PDF-1.4 spool "), 1000)
	spool := io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data)))
	f, err := c.UploadFile(t.Context(), src, "a.pdf", spool)
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	if f.ID != "f1" {
		t.Errorf("file id = %q, want f1", f.ID)
	}
	if len(z.bodies) != 2 {
		t.Fatalf("requests = %d, want 2", len(z.bodies))
	}
	if !bytes.Equal(z.bodies[0], z.bodies[1]) || !bytes.Contains(z.bodies[1], data) {
		t.Errorf("retry body differs from the first (%d vs %d bytes) or lacks the file", len(z.bodies[0]), len(z.bodies[1]))
	}
}

func TestStreamOpeningWithRefusalEventIsRetriedBeforeHandedOut(t *testing.T) {
	z, c := newTokenCoze(t, "fresh")
	src := &rotatingSource{old: "old", fresh: "fresh"}
	s, err := c.StreamChat(t.Context(), src, ChatRequest{BotID: "1", UserID: "u"})
	if err != nil {
		t.Fatalf("StreamChat: %v", err)
	}
	defer s.Close()
	names, err := readAll(s)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read: %v", err)
	}
	if got, want := strings.Join(names, ","), EventChatCreated+","+EventDone; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
	if got, want := strings.Join(z.auths, ","), "old,fresh"; got != want {
		t.Errorf("tokens sent = %s, want %s", got, want)
	}
}

func TestAPIErrorNamesTheEndpointsPermission(t *testing.T) {
	_, c := fakeAnswering(t, Options{}, 200, "application/json", []byte(`{"code":4101,"msg":"no permission"}`))
	_, err := c.ListWorkflows(t.Context(), testToken, ListWorkflowsParams{WorkspaceID: "1"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Permission != "listWorkflow" {
		t.Fatalf("err = %#v, want an *APIError with Permission listWorkflow", err)
	}
}
