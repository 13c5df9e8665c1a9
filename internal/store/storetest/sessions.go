package storetest

import (
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testSessions(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	s1 := store.Session{ID: "sess-1", UserID: alan.ID, SecretHash: []byte{1, 2, 3, 0, 255}, CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(30 * 24 * time.Hour), UserAgent: "Firefox"}
	s2 := store.Session{ID: "sess-2", UserID: alan.ID, SecretHash: []byte{9}, CreatedAt: at(time.Minute), LastSeenAt: at(time.Minute), ExpiresAt: at(time.Hour), UserAgent: "Chrome"}
	s3 := store.Session{ID: "sess-3", UserID: bea.ID, SecretHash: []byte{7}, CreatedAt: at(2 * time.Minute), LastSeenAt: at(2 * time.Minute), ExpiresAt: at(time.Hour)}
	for _, ss := range []store.Session{s1, s2, s3} {
		mustNoErr(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
	}

	got, err := s.SessionByID(ctx, "sess-1")
	mustNoErr(t, "SessionByID", err)
	if diff := cmp.Diff(s1, got); diff != "" {
		t.Errorf("SessionByID (-want +got):\n%s", diff)
	}

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

func testSessionSweep(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
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
