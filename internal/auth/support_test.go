package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // per-test PostgreSQL schemas

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
)

func (e *testEnv) users() []cozesim.User { return e.sim.Users() }

func (e *testEnv) refreshCalls() int { return e.sim.Calls("token:refresh_token") }
func (e *testEnv) codeCalls() int    { return e.sim.Calls("token:authorization_code") }

const tokenEndpoint = "POST /api/permission/oauth2/token"

// mustSealer returns a sealer with one random key named id.
func mustSealer(tb testing.TB, ids ...string) *seal.Sealer {
	tb.Helper()
	var keys []seal.Key
	for _, id := range ids {
		k := make([]byte, seal.KeySize)
		rand.Read(k)
		keys = append(keys, seal.Key{ID: id, Secret: k})
	}
	s, err := seal.New(keys...)
	if err != nil {
		tb.Fatalf("seal.New: %v", err)
	}
	return s
}

// mustPGSchema returns a URL for a fresh schema of the test database.
func mustPGSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("COZE2APP_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL required under CI=true: %v", err)
		}
		tb.Skipf("!!! SKIPPING PostgreSQL test: no database at COZE2APP_TEST_DATABASE_URL (%v) !!!", err)
	}
	schema := "auth_" + strings.ToLower(rand.Text())
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
