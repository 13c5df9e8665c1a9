package auth

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

func (e *testEnv) users() []cozesim.User { return e.sim.Users() }

func (e *testEnv) refreshCalls() int { return e.sim.Calls("token:refresh_token") }

// wantRefreshes reports an error unless Coze saw want refresh requests;
// what names the count and why, if given, says why want is right.
func (e *testEnv) wantRefreshes(t *testing.T, want int, what string, why ...string) {
	t.Helper()
	if n := e.refreshCalls(); n != want {
		t.Errorf("%s = %d, want %d %v", what, n, want, why)
	}
}

func (e *testEnv) codeCalls() int { return e.sim.Calls("token:authorization_code") }

const tokenEndpoint = "POST /api/permission/oauth2/token"

// logRecorder is a slog.Handler that keeps every record, at every level,
// with every attribute resolved (LogValuer included), as one JSON line.
type logRecorder struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	attrs []slog.Attr
	group string
	root  *logRecorder
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	root := l
	if l.root != nil {
		root = l.root
	}
	root.mu.Lock()
	defer root.mu.Unlock()
	var h slog.Handler = slog.NewJSONHandler(&root.buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	if len(l.attrs) > 0 {
		h = h.WithAttrs(l.attrs)
	}
	if l.group != "" {
		h = h.WithGroup(l.group)
	}
	return h.Handle(ctx, r)
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	root := l
	if l.root != nil {
		root = l.root
	}
	return &logRecorder{root: root, attrs: append(append([]slog.Attr(nil), l.attrs...), as...), group: l.group}
}

func (l *logRecorder) WithGroup(name string) slog.Handler {
	root := l
	if l.root != nil {
		root = l.root
	}
	return &logRecorder{root: root, attrs: l.attrs, group: name}
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
