package storetest

import (
	"testing"

	"github.com/coze2app/coze2app/internal/store"
)

// testAppState: a name holds one value, replaced by the next put; an unknown
// name is ErrNotFound.
func testAppState(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, err := s.AppState(ctx, "demo.sim")
	wantErr(t, "AppState before any put", err, store.ErrNotFound)
	for _, v := range [][]byte{[]byte("first"), {0, 1, 2, 255}} {
		mustNoErr(t, "PutAppState", s.PutAppState(ctx, "demo.sim", v))
		got, err := s.AppState(ctx, "demo.sim")
		wantEqual(t, "AppState after put", v, got, err)
	}
	_, err = s.AppState(ctx, "other")
	wantErr(t, "AppState of another name", err, store.ErrNotFound)
}
