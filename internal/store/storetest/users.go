package storetest

import (
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testUsers(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()

	u1, err := s.UpsertUser(ctx, store.User{CozeUserID: "7400000000000000001", Region: "cn", Name: "Alan", AvatarURL: "https://a/1.png", CreatedAt: at(0), UpdatedAt: at(0)})
	mustNoErr(t, "UpsertUser", err)
	if u1.ID == 0 {
		t.Fatal("UpsertUser returned ID 0")
	}
	want := store.User{ID: u1.ID, CozeUserID: "7400000000000000001", Region: "cn", Name: "Alan", AvatarURL: "https://a/1.png", CreatedAt: at(0), UpdatedAt: at(0)}
	if diff := cmp.Diff(want, u1); diff != "" {
		t.Errorf("UpsertUser (-want +got):\n%s", diff)
	}

	// Same (coze id, region): same row, new profile, CreatedAt kept.
	u1b, err := s.UpsertUser(ctx, store.User{CozeUserID: "7400000000000000001", Region: "cn", Name: "Alan T", AvatarURL: "https://a/2.png", CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)})
	mustNoErr(t, "UpsertUser again", err)
	want.Name, want.AvatarURL, want.UpdatedAt = "Alan T", "https://a/2.png", at(time.Hour)
	if diff := cmp.Diff(want, u1b); diff != "" {
		t.Errorf("UpsertUser again (-want +got):\n%s", diff)
	}
	got, err := s.UserByID(ctx, u1.ID)
	mustNoErr(t, "UserByID", err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UserByID (-want +got):\n%s", diff)
	}

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
