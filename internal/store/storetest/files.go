package storetest

import (
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

// testUploadedFiles: a file's kind is found only by the user who uploaded it;
// recording it again replaces the kind; a missing user is ErrNotFound; old
// records are swept.
func testUploadedFiles(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	put := func(u store.User, id, kind string, d time.Duration) {
		t.Helper()
		mustNoErr(t, "PutUploadedFile "+id, s.PutUploadedFile(ctx, store.UploadedFile{UserID: u.ID, ID: id, Kind: kind, CreatedAt: at(d)}))
	}
	put(alan, "7001", "image", 0)
	put(alan, "7002", "audio", time.Hour)
	put(alan, "7003", "file", 2*time.Hour)
	put(bea, "7004", "image", 0)
	put(alan, "7003", "image", 3*time.Hour) // the same upload recorded again

	kinds, err := s.UploadedFileKinds(ctx, alan.ID, []string{"7001", "7002", "7003", "7004", "9999"})
	mustNoErr(t, "UploadedFileKinds", err)
	want := map[string]string{"7001": "image", "7002": "audio", "7003": "image"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("Alan's kinds (-want +got):\n%s", diff)
	}
	kinds, err = s.UploadedFileKinds(ctx, bea.ID, []string{"7001", "7004"})
	mustNoErr(t, "UploadedFileKinds Bea", err)
	if diff := cmp.Diff(map[string]string{"7004": "image"}, kinds); diff != "" {
		t.Errorf("Bea's kinds (-want +got):\n%s", diff)
	}
	kinds, err = s.UploadedFileKinds(ctx, alan.ID, nil)
	if err != nil || len(kinds) != 0 {
		t.Errorf("UploadedFileKinds(nil) = %v, %v; want empty", kinds, err)
	}

	err = s.PutUploadedFile(ctx, store.UploadedFile{UserID: 987654321, ID: "7005", Kind: "file"})
	wantErr(t, "PutUploadedFile(missing user)", err, store.ErrNotFound)

	n, err := s.DeleteUploadedFilesBefore(ctx, at(90*time.Minute))
	mustNoErr(t, "DeleteUploadedFilesBefore", err)
	if n != 3 {
		t.Errorf("DeleteUploadedFilesBefore deleted %d, want 3 (7001, 7002, 7004)", n)
	}
	kinds, err = s.UploadedFileKinds(ctx, alan.ID, []string{"7001", "7002", "7003"})
	mustNoErr(t, "UploadedFileKinds after sweep", err)
	if diff := cmp.Diff(map[string]string{"7003": "image"}, kinds); diff != "" {
		t.Errorf("after sweep (-want +got):\n%s", diff)
	}

}
