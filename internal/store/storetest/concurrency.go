package storetest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

// testConcurrentWriters: 50 goroutines write at once; no caller sees a lock
// error (SQLITE_BUSY on SQLite).
func testConcurrentWriters(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "Alan")
	const writers = 50
	errs := race(writers, func(i int) error {
		conv := fmt.Sprintf("conv-%d", i%5)
		if err := s.UpsertConversation(ctx, store.Conversation{ID: conv, UserID: u.ID, BotID: "bot"}); err != nil {
			return fmt.Errorf("writer %d UpsertConversation: %w", i, err)
		}
		m, err := s.AddMessage(ctx, store.Message{ConversationID: conv, UserID: u.ID, Role: store.RoleUser, Content: fmt.Sprintf("msg %d", i)})
		if err != nil {
			return fmt.Errorf("writer %d AddMessage: %w", i, err)
		}
		m.Content += " edited"
		if err := s.UpdateMessage(ctx, m); err != nil {
			return fmt.Errorf("writer %d UpdateMessage: %w", i, err)
		}
		if err := s.PutTokens(ctx, store.Tokens{UserID: u.ID, KeyID: "k1", Access: []byte{byte(i)}, Refresh: []byte{byte(i)}}); err != nil {
			return fmt.Errorf("writer %d PutTokens: %w", i, err)
		}
		if err := s.DeleteConversation(ctx, u.ID, "never-there"); err == nil {
			return fmt.Errorf("writer %d DeleteConversation(missing) succeeded", i)
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	total := 0
	for i := range 5 {
		msgs, err := s.Messages(ctx, u.ID, fmt.Sprintf("conv-%d", i))
		mustNoErr(t, "Messages", err)
		total += len(msgs)
	}
	if total != writers {
		t.Errorf("stored %d messages, want %d", total, writers)
	}
}

// testRestart: data written before Close is there after reopening.
func testRestart(t *testing.T, newTarget NewTarget) {
	url := newTarget(t)
	ctx := t.Context()
	s1, err := store.Open(ctx, url)
	mustNoErr(t, "Open", err)
	u := MustUser(t, s1, "Alan")
	sess := store.Session{ID: "sess", UserID: u.ID, SecretHash: []byte{1, 2}, CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(time.Hour)}
	tok := store.Tokens{UserID: u.ID, KeyID: "k1", Access: []byte("a"), Refresh: []byte("r"), AccessExpiresAt: at(time.Hour), RefreshExpiresAt: at(2 * time.Hour), UpdatedAt: at(0)}
	pend := store.PendingSignIn{State: "st", BindingHash: []byte{3}, Verifier: []byte{4}, CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	conv := store.Conversation{ID: "conv", UserID: u.ID, BotID: "bot", BotName: "Bot", Title: "T", CreatedAt: at(0), UpdatedAt: at(0)}
	mustNoErr(t, "CreateSession", s1.CreateSession(ctx, sess))
	mustNoErr(t, "PutTokens", s1.PutTokens(ctx, tok))
	mustNoErr(t, "CreatePendingSignIn", s1.CreatePendingSignIn(ctx, pend))
	mustNoErr(t, "UpsertConversation", s1.UpsertConversation(ctx, conv))
	msg, err := s1.AddMessage(ctx, store.Message{ConversationID: "conv", UserID: u.ID, Role: store.RoleUser, Content: "持久", CreatedAt: at(0)})
	mustNoErr(t, "AddMessage", err)
	vs1, err := s1.MigrationVersions(ctx)
	mustNoErr(t, "MigrationVersions", err)
	mustNoErr(t, "Close", s1.Close())

	s2 := MustOpen(t, url)
	gotU, err := s2.UserByID(ctx, u.ID)
	wantEqual(t, "UserByID after reopen", u, gotU, err)
	gotS, err := s2.SessionByID(ctx, "sess")
	wantEqual(t, "SessionByID after reopen", sess, gotS, err)
	gotT, err := s2.TokensByUser(ctx, u.ID)
	wantEqual(t, "TokensByUser after reopen", tok, gotT, err)
	gotP, err := s2.TakePendingSignIn(ctx, "st")
	wantEqual(t, "TakePendingSignIn after reopen", pend, gotP, err)
	gotC, err := s2.ConversationByID(ctx, u.ID, "conv")
	wantEqual(t, "ConversationByID after reopen", conv, gotC, err)
	msgs, err := s2.Messages(ctx, u.ID, "conv")
	wantEqual(t, "Messages after reopen", []store.Message{msg}, msgs, err)
	vs2, err := s2.MigrationVersions(ctx)
	mustNoErr(t, "MigrationVersions after reopen", err)
	if !cmp.Equal(vs1, vs2) {
		t.Errorf("migrations after reopen = %v, want %v", vs2, vs1)
	}
}

// testConcurrentMigrate: several instances start on one empty database at
// once; all succeed and each migration is recorded once.
func testConcurrentMigrate(t *testing.T, newTarget NewTarget) {
	url := newTarget(t)
	const instances = 3
	stores := make([]*store.Store, instances)
	errs := race(instances, func(i int) (err error) {
		stores[i], err = store.Open(t.Context(), url)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Open: %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	vs, err := stores[0].MigrationVersions(t.Context())
	mustNoErr(t, "MigrationVersions", err)
	seen := map[int]bool{}
	for _, v := range vs {
		if seen[v] {
			t.Errorf("migration %d recorded more than once: %v", v, vs)
		}
		seen[v] = true
	}
	// Every instance works on the same schema.
	u := MustUser(t, stores[1], "Alan")
	if _, err := stores[2].UserByID(t.Context(), u.ID); err != nil {
		t.Errorf("user written by instance 1 not visible to instance 2: %v", err)
	}
}

var errFromFn = errors.New("fn failed")

func testUserLock(t *testing.T, newTarget NewTarget) {
	url := newTarget(t)
	a := MustOpen(t, url)
	ctx := t.Context()
	user := randomUserID()

	t.Run("runs fn and returns its error", func(t *testing.T) {
		called := false
		err := a.WithUserLock(ctx, user, func(ctx context.Context) error {
			called = true
			// fn uses the store's normal methods while holding the lock.
			u := MustUser(t, a, "InLock")
			_, err := a.UserByID(ctx, u.ID)
			return err
		})
		if err != nil || !called {
			t.Errorf("WithUserLock = %v, called = %v; want nil, true", err, called)
		}
		err = a.WithUserLock(ctx, user, func(context.Context) error { return errFromFn })
		wantErr(t, "WithUserLock(fn fails)", err, errFromFn)
		// The lock was released despite the error.
		if err := a.WithUserLock(ctx, user, func(context.Context) error { return nil }); err != nil {
			t.Errorf("WithUserLock after failed fn: %v", err)
		}
	})

	if a.Dialect() != "postgres" {
		return // SQLite: one process per file; the caller's mutex excludes.
	}
	b := MustOpen(t, url) // a second instance on the same database

	t.Run("same user waits for the holder", func(t *testing.T) {
		user := randomUserID()
		release := holdLock(t, ctx, a, user)
		defer release()
		var entered atomic.Bool
		done := queueBehind(t, ctx, a, b, user, func(context.Context) error { entered.Store(true); return nil })
		if entered.Load() {
			t.Fatal("second WithUserLock entered while the first still held the lock")
		}
		release()
		if err := <-done; err != nil {
			t.Errorf("second WithUserLock: %v", err)
		}
	})

	t.Run("holder's ctx ending keeps the lock until fn returns", func(t *testing.T) {
		user := randomUserID()
		hctx, hcancel := context.WithCancel(ctx)
		// The holder's fn outlives hctx, e.g. persisting a rotated pair under a detached ctx.
		release := holdLock(t, hctx, a, user)
		defer release()
		hcancel()
		var entered atomic.Bool
		bdone := queueBehind(t, ctx, a, b, user, func(context.Context) error { entered.Store(true); return nil })
		if entered.Load() {
			t.Error("lock released when the holder's ctx ended, before fn returned")
		}
		release() // checks the holder's WithUserLock returned nil
		if err := <-bdone; err != nil {
			t.Errorf("waiter WithUserLock: %v", err)
		}
	})

	t.Run("different users do not block", func(t *testing.T) {
		user1, user2 := randomUserID(), randomUserID()
		release := holdLock(t, ctx, a, user1)
		defer release()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second) // hang guard only
		defer cancel()
		if err := b.WithUserLock(ctx, user2, func(context.Context) error { return nil }); err != nil {
			t.Errorf("WithUserLock(other user) while user1 is held: %v", err)
		}
	})

	t.Run("cancel while waiting", func(t *testing.T) {
		user := randomUserID()
		release := holdLock(t, ctx, a, user)
		defer release()
		wctx, cancel := context.WithCancel(ctx)
		called := false
		done := queueBehind(t, wctx, a, b, user, func(context.Context) error { called = true; return nil })
		cancel()
		err := <-done
		wantErr(t, "WithUserLock(cancelled while waiting)", err, context.Canceled)
		if called {
			t.Error("fn ran although the wait was cancelled")
		}
		release()
		// The instance still locks fine afterwards.
		if err := b.WithUserLock(ctx, user, func(context.Context) error { return nil }); err != nil {
			t.Errorf("WithUserLock after a cancelled wait: %v", err)
		}
	})
}

// holdLock takes user's lock on s under ctx in a goroutine, returns once the
// lock is held, and holds it until release is called (release is idempotent
// and fails t if the holder's WithUserLock returned an error).
func holdLock(t *testing.T, ctx context.Context, s *store.Store, user int64) (release func()) {
	t.Helper()
	held := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.WithUserLock(ctx, user, func(context.Context) error {
			close(held)
			<-stop
			return nil
		})
	}()
	<-held
	released := false
	return func() {
		if released {
			return
		}
		released = true
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("holder WithUserLock: %v", err)
		}
	}
}

// queueBehind starts b.WithUserLock(ctx, user, fn) in a goroutine and returns
// once a sees it waiting for user's lock; done receives its result.
func queueBehind(t *testing.T, ctx context.Context, a, b *store.Store, user int64, fn func(context.Context) error) (done <-chan error) {
	t.Helper()
	d := make(chan error, 1)
	go func() { d <- b.WithUserLock(ctx, user, fn) }()
	waitForLockWaiter(t, a, user)
	return d
}

// waitForLockWaiter polls pg_locks until a session waits (not granted) for
// user's advisory lock. A bigint key shows as classid = high 32 bits, objid =
// low 32 bits, objsubid = 1.
func waitForLockWaiter(t *testing.T, s *store.Store, user int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		key := uint64(store.UserLockKey(user))
		var n int
		err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
			  AND classid::bigint = $1 AND objid::bigint = $2
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
			int64(key>>32), int64(key&0xffffffff)).Scan(&n)
		if err != nil {
			t.Fatalf("waiting for a lock waiter: %v", err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no session started waiting for user %d's lock", user)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func randomUserID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>2) + 1
}
