// Package storetest is the conformance suite every store backend must pass,
// plus helpers that give other packages' tests a fresh database.
//
//	storetest.Run(t, storetest.SQLiteURL)    // internal/store/sqlite_test.go
//	storetest.Run(t, storetest.PostgresURL)  // internal/store/postgres_test.go
//
//	st := storetest.OpenSQLite(t)            // any package: a migrated, empty store
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

// NewTarget returns the URL of a fresh, empty database for one test and
// arranges its removal with t.Cleanup. store.Open on the same URL again
// reaches the same database, which is how the suite tests restarts, two
// instances and concurrent migrations.
type NewTarget func(tb testing.TB) string

// Run runs the conformance suite. Each subtest gets its own target.
func Run(t *testing.T, newTarget NewTarget) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newTarget NewTarget)
	}{
		{"Basics", onStore(testBasics)},
		{"Users", onStore(testUsers)},
		{"Sessions", onStore(testSessions)},
		{"SessionSweep", onStore(testSessionSweep)},
		{"PendingSignIns", onStore(testPendingSignIns)},
		{"PendingSignInSingleUse", onStore(testPendingSingleUse)},
		{"Tokens", onStore(testTokens)},
		{"Conversations", onStore(testConversations)},
		{"ConversationIsolation", onStore(testConversationIsolation)},
		{"HistoryPinAndUndo", onStore(testHistoryPinAndUndo)},
		{"LastStatus", onStore(testLastStatus)},
		{"Messages", onStore(testMessages)},
		{"MessageParts", onStore(testMessageParts)},
		{"MarkInterrupted", onStore(testMarkInterrupted)},
		{"Search", onStore(testSearch)},
		{"ConcurrentWriters", onStore(testConcurrentWriters)},
		{"RestartPersistence", testRestart},
		{"ConcurrentMigrate", testConcurrentMigrate},
		{"UserLock", testUserLock},
		{"UploadedFiles", onStore(testUploadedFiles)},
		{"ReplyEvents", onStore(testReplyEvents)},
		{"AppState", onStore(testAppState)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newTarget) })
	}
}

// onStore adapts a test that needs only one fresh, migrated store; the tests
// left (restarts, two instances, migrations) open their target themselves.
func onStore(fn func(*testing.T, *store.Store)) func(*testing.T, NewTarget) {
	return func(t *testing.T, newTarget NewTarget) { fn(t, MustOpen(t, newTarget(t))) }
}

// MustOpen opens url and closes the store at the end of the test.
func MustOpen(tb testing.TB, url string) *store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// OpenSQLite returns a migrated, empty SQLite store in tb.TempDir().
func OpenSQLite(tb testing.TB) *store.Store {
	tb.Helper()
	return MustOpen(tb, SQLiteURL(tb))
}

// OpenPostgres returns a migrated, empty PostgreSQL store in a schema of its
// own (skipped or fatal without PostgreSQL, see PostgresURL).
func OpenPostgres(tb testing.TB) *store.Store {
	tb.Helper()
	return MustOpen(tb, PostgresURL(tb))
}

var userSeq atomic.Int64

// MustUser creates a user with a unique Coze id whose name starts with name.
func MustUser(tb testing.TB, s *store.Store, name string) store.User {
	tb.Helper()
	n := userSeq.Add(1)
	u, err := s.UpsertUser(context.Background(), store.User{
		CozeUserID: fmt.Sprintf("74%017d", n), Region: "cn", Name: name,
		CreatedAt: baseTime, UpdatedAt: baseTime,
	})
	if err != nil {
		tb.Fatalf("UpsertUser(%s): %v", name, err)
	}
	return u
}

// baseTime has a millisecond fraction so precision loss would show.
var baseTime = time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

// at returns baseTime plus d.
func at(d time.Duration) time.Time { return baseTime.Add(d) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func mustNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantEqual stops the test if err is not nil (as mustNoErr) and reports
// got when it differs from want.
func wantEqual[T any](t *testing.T, what string, want, got T, err error, opts ...cmp.Option) {
	t.Helper()
	mustNoErr(t, what, err)
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// mustConversation creates a user and their conversation "conv" with bot
// "bot", the setting of most history tests.
func mustConversation(t *testing.T, s *store.Store) store.User {
	t.Helper()
	u := MustUser(t, s, "Alan")
	mustNoErr(t, "UpsertConversation", s.UpsertConversation(t.Context(), store.Conversation{ID: "conv", UserID: u.ID, BotID: "bot"}))
	return u
}

// race runs fn(0) … fn(n-1) in n goroutines released at once and returns
// their errors, by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testBasics(t *testing.T, s *store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if d := s.Dialect(); d != "sqlite" && d != "postgres" {
		t.Errorf("Dialect() = %q, want sqlite or postgres", d)
	}
	if s.DB() == nil {
		t.Error("DB() = nil")
	}
	vs, err := s.MigrationVersions(t.Context())
	mustNoErr(t, "MigrationVersions", err)
	if len(vs) == 0 || vs[0] != 1 {
		t.Errorf("MigrationVersions = %v, want [1 ...]", vs)
	}
}
