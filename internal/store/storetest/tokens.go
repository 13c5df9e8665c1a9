package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testTokens(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	_, err := s.TokensByUser(ctx, alan.ID)
	wantErr(t, "TokensByUser(none yet)", err, store.ErrNotFound)

	t1 := store.Tokens{UserID: alan.ID, KeyID: "k1", Access: []byte{0, 1, 2, 0xff}, Refresh: []byte("r-ciphertext-1"), AccessExpiresAt: at(15 * time.Minute), RefreshExpiresAt: at(30 * 24 * time.Hour), UpdatedAt: at(0)}
	mustNoErr(t, "PutTokens", s.PutTokens(ctx, t1))
	got, err := s.TokensByUser(ctx, alan.ID)
	mustNoErr(t, "TokensByUser", err)
	if diff := cmp.Diff(t1, got); diff != "" {
		t.Errorf("TokensByUser (-want +got):\n%s", diff)
	}

	// Overwrite: the whole pair and its metadata change together.
	t2 := store.Tokens{UserID: alan.ID, KeyID: "k2", Access: []byte("a-ciphertext-2"), Refresh: []byte("r-ciphertext-2"), AccessExpiresAt: at(time.Hour), RefreshExpiresAt: at(60 * 24 * time.Hour), UpdatedAt: at(time.Minute)}
	mustNoErr(t, "PutTokens overwrite", s.PutTokens(ctx, t2))
	got, err = s.TokensByUser(ctx, alan.ID)
	mustNoErr(t, "TokensByUser after overwrite", err)
	if diff := cmp.Diff(t2, got); diff != "" {
		t.Errorf("TokensByUser after overwrite (-want +got):\n%s", diff)
	}

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
