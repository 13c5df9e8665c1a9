package storetest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
)

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
		release, held := holdLock(t, a, user)
		defer release()
		<-held
		entered := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- b.WithUserLock(ctx, user, func(context.Context) error { close(entered); return nil })
		}()
		waitForLockWaiter(t, a, user)
		select {
		case <-entered:
			t.Fatal("second WithUserLock entered while the first still held the lock")
		default:
		}
		release()
		if err := <-done; err != nil {
			t.Errorf("second WithUserLock: %v", err)
		}
	})

	t.Run("holder's ctx ending keeps the lock until fn returns", func(t *testing.T) {
		user := randomUserID()
		hctx, hcancel := context.WithCancel(ctx)
		held, stop, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- a.WithUserLock(hctx, user, func(context.Context) error {
				close(held)
				<-stop // e.g. persisting a rotated pair under a detached ctx
				return nil
			})
		}()
		<-held
		hcancel()
		entered := make(chan struct{})
		bdone := make(chan error, 1)
		go func() {
			bdone <- b.WithUserLock(ctx, user, func(context.Context) error { close(entered); return nil })
		}()
		waitForLockWaiter(t, a, user)
		select {
		case <-entered:
			t.Error("lock released when the holder's ctx ended, before fn returned")
		default:
		}
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("holder WithUserLock: %v", err)
		}
		if err := <-bdone; err != nil {
			t.Errorf("waiter WithUserLock: %v", err)
		}
	})

	t.Run("different users do not block", func(t *testing.T) {
		user1, user2 := randomUserID(), randomUserID()
		release, held := holdLock(t, a, user1)
		defer release()
		<-held
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second) // hang guard only
		defer cancel()
		if err := b.WithUserLock(ctx, user2, func(context.Context) error { return nil }); err != nil {
			t.Errorf("WithUserLock(other user) while user1 is held: %v", err)
		}
	})

	t.Run("cancel while waiting", func(t *testing.T) {
		user := randomUserID()
		release, held := holdLock(t, a, user)
		defer release()
		<-held
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		called := false
		go func() {
			done <- b.WithUserLock(wctx, user, func(context.Context) error { called = true; return nil })
		}()
		waitForLockWaiter(t, a, user)
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

// holdLock takes user's lock on s in a goroutine and holds it until release
// is called (release is idempotent). held is closed once the lock is taken.
func holdLock(t *testing.T, s *store.Store, user int64) (release func(), held <-chan struct{}) {
	t.Helper()
	h := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.WithUserLock(t.Context(), user, func(context.Context) error {
			close(h)
			<-stop
			return nil
		})
	}()
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
	}, h
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
