package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testUsers(t *testing.T, s *store.Store) {
	ctx := t.Context()

	u1, err := s.UpsertUser(ctx, store.User{CozeUserID: "7400000000000000001", Region: "cn", Name: "Alan", AvatarURL: "https://a/1.png", CreatedAt: at(0), UpdatedAt: at(0)})
	mustNoErr(t, "UpsertUser", err)
	if u1.ID == 0 {
		t.Fatal("UpsertUser returned ID 0")
	}
	want := store.User{ID: u1.ID, CozeUserID: "7400000000000000001", Region: "cn", Name: "Alan", AvatarURL: "https://a/1.png", CreatedAt: at(0), UpdatedAt: at(0)}
	wantEqual(t, "UpsertUser", want, u1, nil)

	// Same (coze id, region): same row, new profile, CreatedAt kept.
	u1b, err := s.UpsertUser(ctx, store.User{CozeUserID: "7400000000000000001", Region: "cn", Name: "Alan T", AvatarURL: "https://a/2.png", CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)})
	want.Name, want.AvatarURL, want.UpdatedAt = "Alan T", "https://a/2.png", at(time.Hour)
	wantEqual(t, "UpsertUser again", want, u1b, err)
	got, err := s.UserByID(ctx, u1.ID)
	wantEqual(t, "UserByID", want, got, err)

	// Same Coze id in the other region is another person.
	u2, err := s.UpsertUser(ctx, store.User{CozeUserID: "7400000000000000001", Region: "com", Name: "Other"})
	mustNoErr(t, "UpsertUser com", err)
	if u2.ID == u1.ID {
		t.Errorf("user in region com got the cn user's ID %d", u1.ID)
	}
	if u2.CreatedAt.IsZero() || u2.UpdatedAt.IsZero() {
		t.Errorf("zero times not defaulted: %+v", u2)
	}

	_, err = s.UserByID(ctx, 987654321)
	wantErr(t, "UserByID(missing)", err, store.ErrNotFound)
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	s1 := store.Session{ID: "sess-1", UserID: alan.ID, SecretHash: []byte{1, 2, 3, 0, 255}, CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(30 * 24 * time.Hour), UserAgent: "Firefox"}
	s2 := store.Session{ID: "sess-2", UserID: alan.ID, SecretHash: []byte{9}, CreatedAt: at(time.Minute), LastSeenAt: at(time.Minute), ExpiresAt: at(time.Hour), UserAgent: "Chrome"}
	s3 := store.Session{ID: "sess-3", UserID: bea.ID, SecretHash: []byte{7}, CreatedAt: at(2 * time.Minute), LastSeenAt: at(2 * time.Minute), ExpiresAt: at(time.Hour)}
	for _, ss := range []store.Session{s1, s2, s3} {
		mustNoErr(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
	}

	got, err := s.SessionByID(ctx, "sess-1")
	wantEqual(t, "SessionByID", s1, got, err)

	tests := []struct {
		name string
		ss   store.Session
		want error
	}{
		{"duplicate id", store.Session{ID: "sess-1", UserID: bea.ID, SecretHash: []byte{1}, ExpiresAt: at(time.Hour)}, store.ErrConflict},
		{"unknown user", store.Session{ID: "sess-x", UserID: 987654321, SecretHash: []byte{1}, ExpiresAt: at(time.Hour)}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, "CreateSession", s.CreateSession(ctx, tt.ss), tt.want)
		})
	}

	mustNoErr(t, "TouchSession", s.TouchSession(ctx, "sess-1", at(5*time.Minute)))
	got, err = s.SessionByID(ctx, "sess-1")
	mustNoErr(t, "SessionByID after touch", err)
	if !got.LastSeenAt.Equal(at(5 * time.Minute)) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, at(5*time.Minute))
	}
	wantErr(t, "TouchSession(missing)", s.TouchSession(ctx, "nope", at(0)), store.ErrNotFound)
	_, err = s.SessionByID(ctx, "nope")
	wantErr(t, "SessionByID(missing)", err, store.ErrNotFound)

	list, err := s.UserSessions(ctx, alan.ID)
	mustNoErr(t, "UserSessions", err)
	if ids := sessionIDs(list); !cmp.Equal(ids, []string{"sess-2", "sess-1"}) {
		t.Errorf("UserSessions(alan) = %v, want [sess-2 sess-1] (newest first, only alan's)", ids)
	}

	mustNoErr(t, "DeleteSession", s.DeleteSession(ctx, "sess-2"))
	mustNoErr(t, "DeleteSession again", s.DeleteSession(ctx, "sess-2"))
	_, err = s.SessionByID(ctx, "sess-2")
	wantErr(t, "SessionByID(deleted)", err, store.ErrNotFound)

	mustNoErr(t, "DeleteUserSessions", s.DeleteUserSessions(ctx, alan.ID))
	list, err = s.UserSessions(ctx, alan.ID)
	mustNoErr(t, "UserSessions after delete", err)
	if len(list) != 0 {
		t.Errorf("UserSessions(alan) after DeleteUserSessions = %v, want none", sessionIDs(list))
	}
	if _, err := s.SessionByID(ctx, "sess-3"); err != nil {
		t.Errorf("bea's session gone after deleting alan's: %v", err)
	}
}

func testSessionSweep(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "Alan")
	now := at(10 * 24 * time.Hour)
	idleBefore := now.Add(-7 * 24 * time.Hour)
	sessions := []store.Session{
		{ID: "fresh", LastSeenAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
		{ID: "expired", LastSeenAt: now.Add(-time.Hour), ExpiresAt: now},
		{ID: "idle", LastSeenAt: idleBefore.Add(-time.Millisecond), ExpiresAt: now.Add(time.Hour)},
		{ID: "idle-edge", LastSeenAt: idleBefore, ExpiresAt: now.Add(time.Hour)},
	}
	for _, ss := range sessions {
		ss.UserID, ss.SecretHash, ss.CreatedAt = u.ID, []byte{1}, at(0)
		mustNoErr(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
	}
	n, err := s.DeleteExpiredSessions(ctx, idleBefore, now)
	mustNoErr(t, "DeleteExpiredSessions", err)
	if n != 2 {
		t.Errorf("DeleteExpiredSessions = %d, want 2", n)
	}
	list, err := s.UserSessions(ctx, u.ID)
	mustNoErr(t, "UserSessions", err)
	got := sessionIDs(list)
	if len(got) != 2 || !contains(got, "fresh") || !contains(got, "idle-edge") {
		t.Errorf("left after sweep = %v, want fresh and idle-edge", got)
	}
}

func sessionIDs(ss []store.Session) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func testPendingSignIns(t *testing.T, s *store.Store) {
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
	wantEqual(t, "TakePendingSignIn", p, got, err)
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
func testPendingSingleUse(t *testing.T, s *store.Store) {
	ctx := t.Context()
	const takers = 20
	for round := range 3 {
		state := fmt.Sprintf("race-%d", round)
		mustNoErr(t, "CreatePendingSignIn", s.CreatePendingSignIn(ctx, store.PendingSignIn{State: state, BindingHash: []byte{1}, Verifier: []byte{2}, ExpiresAt: at(time.Hour)}))
		errs := race(takers, func(int) error {
			_, err := s.TakePendingSignIn(ctx, state)
			return err
		})
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

func testTokens(t *testing.T, s *store.Store) {
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	_, err := s.TokensByUser(ctx, alan.ID)
	wantErr(t, "TokensByUser(none yet)", err, store.ErrNotFound)

	t1 := store.Tokens{UserID: alan.ID, KeyID: "k1", Access: []byte{0, 1, 2, 0xff}, Refresh: []byte("r-ciphertext-1"), AccessExpiresAt: at(15 * time.Minute), RefreshExpiresAt: at(30 * 24 * time.Hour), UpdatedAt: at(0)}
	mustNoErr(t, "PutTokens", s.PutTokens(ctx, t1))
	got, err := s.TokensByUser(ctx, alan.ID)
	wantEqual(t, "TokensByUser", t1, got, err)

	// Overwrite: the whole pair and its metadata change together.
	t2 := store.Tokens{UserID: alan.ID, KeyID: "k2", Access: []byte("a-ciphertext-2"), Refresh: []byte("r-ciphertext-2"), AccessExpiresAt: at(time.Hour), RefreshExpiresAt: at(60 * 24 * time.Hour), UpdatedAt: at(time.Minute)}
	mustNoErr(t, "PutTokens overwrite", s.PutTokens(ctx, t2))
	got, err = s.TokensByUser(ctx, alan.ID)
	wantEqual(t, "TokensByUser after overwrite", t2, got, err)

	tb := store.Tokens{UserID: bea.ID, KeyID: "k1", Access: []byte("bea-a"), Refresh: []byte("bea-r"), AccessExpiresAt: at(time.Hour), RefreshExpiresAt: at(2 * time.Hour)}
	mustNoErr(t, "PutTokens bea", s.PutTokens(ctx, tb))
	got, err = s.TokensByUser(ctx, bea.ID)
	mustNoErr(t, "TokensByUser bea", err)
	if !bytes.Equal(got.Access, tb.Access) || got.UpdatedAt.IsZero() {
		t.Errorf("TokensByUser(bea) = %+v, want access %q and UpdatedAt defaulted", got, tb.Access)
	}

	wantErr(t, "PutTokens(unknown user)", s.PutTokens(ctx, store.Tokens{UserID: 987654321, KeyID: "k1", Access: []byte{1}, Refresh: []byte{1}}), store.ErrNotFound)

	mustNoErr(t, "DeleteTokens", s.DeleteTokens(ctx, alan.ID))
	mustNoErr(t, "DeleteTokens again", s.DeleteTokens(ctx, alan.ID))
	_, err = s.TokensByUser(ctx, alan.ID)
	wantErr(t, "TokensByUser(deleted)", err, store.ErrNotFound)
	if _, err := s.TokensByUser(ctx, bea.ID); err != nil {
		t.Errorf("bea's tokens gone after deleting alan's: %v", err)
	}
}
