package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testPendingSignIns(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()

	p := store.PendingSignIn{State: "state-1", BindingHash: []byte{1, 2}, Verifier: []byte("sealed-verifier"), ReturnTo: "/chat?x=1", WorkspaceID: "7123", CreatedAt: at(0), ExpiresAt: at(10 * time.Minute)}
	mustNoErr(t, "CreatePendingSignIn", s.CreatePendingSignIn(ctx, p))
	wantErr(t, "CreatePendingSignIn(duplicate)", s.CreatePendingSignIn(ctx, p), store.ErrConflict)
	mustNoErr(t, "CreatePendingSignIn expired", s.CreatePendingSignIn(ctx, store.PendingSignIn{State: "state-old", BindingHash: []byte{3}, Verifier: []byte{4}, CreatedAt: at(-20 * time.Minute), ExpiresAt: at(-10 * time.Minute)}))

	n, err := s.CountPendingSignIns(ctx)
	mustNoErr(t, "CountPendingSignIns", err)
	if n != 2 {
		t.Errorf("CountPendingSignIns = %d, want 2", n)
	}

	got, err := s.TakePendingSignIn(ctx, "state-1")
	mustNoErr(t, "TakePendingSignIn", err)
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("TakePendingSignIn (-want +got):\n%s", diff)
	}
	_, err = s.TakePendingSignIn(ctx, "state-1")
	wantErr(t, "TakePendingSignIn(second time)", err, store.ErrNotFound)
	_, err = s.TakePendingSignIn(ctx, "never")
	wantErr(t, "TakePendingSignIn(unknown)", err, store.ErrNotFound)

	mustNoErr(t, "CreatePendingSignIn live", s.CreatePendingSignIn(ctx, store.PendingSignIn{State: "state-2", BindingHash: []byte{3}, Verifier: []byte{4}, CreatedAt: at(0), ExpiresAt: at(10 * time.Minute)}))
	n, err = s.DeleteExpiredPendingSignIns(ctx, at(0))
	mustNoErr(t, "DeleteExpiredPendingSignIns", err)
	if n != 1 {
		t.Errorf("DeleteExpiredPendingSignIns = %d, want 1", n)
	}
	if _, err := s.TakePendingSignIn(ctx, "state-2"); err != nil {
		t.Errorf("live pending sign-in swept: %v", err)
	}
}

// testPendingSingleUse: 20 callbacks race for one state; exactly one wins.
func testPendingSingleUse(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	const takers = 20
	for round := range 3 {
		state := fmt.Sprintf("race-%d", round)
		mustNoErr(t, "CreatePendingSignIn", s.CreatePendingSignIn(ctx, store.PendingSignIn{State: state, BindingHash: []byte{1}, Verifier: []byte{2}, ExpiresAt: at(time.Hour)}))
		var wg sync.WaitGroup
		errs := make([]error, takers)
		start := make(chan struct{})
		for i := range takers {
			wg.Go(func() {
				<-start
				_, errs[i] = s.TakePendingSignIn(ctx, state)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("TakePendingSignIn loser: err = %v, want ErrNotFound", err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d takers won, want exactly 1", round, wins)
		}
	}
}
