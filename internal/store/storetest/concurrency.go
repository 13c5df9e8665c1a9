package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

// testConcurrentWriters: 50 goroutines write at once; no caller sees a lock
// error (SQLITE_BUSY on SQLite).
func testConcurrentWriters(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	u := MustUser(t, s, "Alan")
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			conv := fmt.Sprintf("conv-%d", i%5)
			if err := s.UpsertConversation(ctx, store.Conversation{ID: conv, UserID: u.ID, BotID: "bot"}); err != nil {
				errs <- fmt.Errorf("writer %d UpsertConversation: %w", i, err)
				return
			}
			m, err := s.AddMessage(ctx, store.Message{ConversationID: conv, UserID: u.ID, Role: store.RoleUser, Content: fmt.Sprintf("msg %d", i)})
			if err != nil {
				errs <- fmt.Errorf("writer %d AddMessage: %w", i, err)
				return
			}
			m.Content += " edited"
			if err := s.UpdateMessage(ctx, m); err != nil {
				errs <- fmt.Errorf("writer %d UpdateMessage: %w", i, err)
				return
			}
			if err := s.PutTokens(ctx, store.Tokens{UserID: u.ID, KeyID: "k1", Access: []byte{byte(i)}, Refresh: []byte{byte(i)}}); err != nil {
				errs <- fmt.Errorf("writer %d PutTokens: %w", i, err)
				return
			}
			if err := s.DeleteConversation(ctx, u.ID, "never-there"); err == nil {
				errs <- fmt.Errorf("writer %d DeleteConversation(missing) succeeded", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
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
	mustNoErr(t, "UserByID after reopen", err)
	if diff := cmp.Diff(u, gotU); diff != "" {
		t.Errorf("user after reopen (-want +got):\n%s", diff)
	}
	gotS, err := s2.SessionByID(ctx, "sess")
	mustNoErr(t, "SessionByID after reopen", err)
	if diff := cmp.Diff(sess, gotS); diff != "" {
		t.Errorf("session after reopen (-want +got):\n%s", diff)
	}
	gotT, err := s2.TokensByUser(ctx, u.ID)
	mustNoErr(t, "TokensByUser after reopen", err)
	if diff := cmp.Diff(tok, gotT); diff != "" {
		t.Errorf("tokens after reopen (-want +got):\n%s", diff)
	}
	gotP, err := s2.TakePendingSignIn(ctx, "st")
	mustNoErr(t, "TakePendingSignIn after reopen", err)
	if diff := cmp.Diff(pend, gotP); diff != "" {
		t.Errorf("pending sign-in after reopen (-want +got):\n%s", diff)
	}
	gotC, err := s2.ConversationByID(ctx, u.ID, "conv")
	mustNoErr(t, "ConversationByID after reopen", err)
	if diff := cmp.Diff(conv, gotC); diff != "" {
		t.Errorf("conversation after reopen (-want +got):\n%s", diff)
	}
	msgs, err := s2.Messages(ctx, u.ID, "conv")
	mustNoErr(t, "Messages after reopen", err)
	if diff := cmp.Diff([]store.Message{msg}, msgs); diff != "" {
		t.Errorf("messages after reopen (-want +got):\n%s", diff)
	}
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
	errs := make([]error, instances)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range instances {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = store.Open(t.Context(), url)
		})
	}
	close(start)
	wg.Wait()
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
