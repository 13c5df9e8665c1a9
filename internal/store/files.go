package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// UploadedFile records a file a user uploaded to Coze through us and the kind
// sniffed from its bytes ("image", "audio" or "file"), so a chat turn can send
// it as the right object_string item without trusting the browser.
type UploadedFile struct {
	UserID    int64
	ID        string // Coze file id
	Kind      string
	CreatedAt time.Time
}

// PutUploadedFile records f. Recording the same id again for the same user
// replaces its kind. ErrNotFound if the user does not exist. A zero CreatedAt
// defaults to now.
func (s *Store) PutUploadedFile(ctx context.Context, f UploadedFile) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO uploaded_files (user_id, id, kind, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, id) DO UPDATE SET kind = excluded.kind, created_at = excluded.created_at`,
		f.UserID, f.ID, f.Kind, ms(orNow(f.CreatedAt)))
	if err != nil {
		return fmt.Errorf("put uploaded file %s: %w", f.ID, mapErr(err))
	}
	return nil
}

// UploadedFileKinds returns the kinds of those of ids that userID uploaded,
// keyed by id. Ids the user did not upload through us (another user's, or
// unknown) are absent from the map.
func (s *Store) UploadedFileKinds(ctx context.Context, userID int64, ids []string) (map[string]string, error) {
	kinds := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return kinds, nil
	}
	args := []any{userID}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	found, err := queryAll(ctx, s.db, func(r scanner) (UploadedFile, error) {
		var f UploadedFile
		err := r.Scan(&f.ID, &f.Kind)
		return f, err
	}, `SELECT id, kind FROM uploaded_files
		WHERE user_id = $1 AND id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("uploaded file kinds: %w", err)
	}
	for _, f := range found {
		kinds[f.ID] = f.Kind
	}
	return kinds, nil
}

// DeleteUploadedFilesBefore forgets files recorded before cutoff (Coze keeps
// uploads three months, coze-protocol §12.1) and returns how many it deleted.
func (s *Store) DeleteUploadedFilesBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM uploaded_files WHERE created_at < $1`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("delete old uploaded files: %w", err)
	}
	return n, nil
}
