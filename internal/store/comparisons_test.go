package store_test

import (
	"errors"
	"testing"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Comparisons (issue 12) on both backends: saved, updated in place, listed
// newest first, and private to their user.
func TestComparisons(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{"sqlite": storetest.SQLiteURL, "postgres": storetest.PostgresURL} {
		t.Run(name, func(t *testing.T) {
			st := storetest.MustOpen(t, url(t))
			ctx := t.Context()
			alice, err := st.UpsertUser(ctx, store.User{CozeUserID: "1", Region: "cn", Name: "A"})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := st.UpsertUser(ctx, store.User{CozeUserID: "2", Region: "cn", Name: "B"})
			if err != nil {
				t.Fatal(err)
			}
			cols := []store.ComparisonColumn{{BotID: "11", BotName: "One", ConversationID: "21"}, {BotID: "12", BotName: "Two", ConversationID: "22"}}
			id, err := st.SaveComparison(ctx, store.Comparison{UserID: alice.ID, Title: "hello", Columns: cols})
			if err != nil || id == "" {
				t.Fatalf("save = %q, %v", id, err)
			}
			cols = append(cols, store.ComparisonColumn{BotID: "13", BotName: "Three", ConversationID: "23"})
			if got, err := st.SaveComparison(ctx, store.Comparison{ID: id, UserID: alice.ID, Title: "hello 2", Columns: cols}); err != nil || got != id {
				t.Fatalf("update = %q, %v", got, err)
			}
			c, err := st.ComparisonByID(ctx, alice.ID, id)
			if err != nil || c.Title != "hello 2" || len(c.Columns) != 3 || c.Columns[2].ConversationID != "23" {
				t.Fatalf("by id = %+v, %v", c, err)
			}
			if list, err := st.ListComparisons(ctx, alice.ID, 0); err != nil || len(list) != 1 || list[0].ID != id {
				t.Fatalf("list = %+v, %v", list, err)
			}
			if _, err := st.ComparisonByID(ctx, bob.ID, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another user's comparison: %v, want ErrNotFound", err)
			}
			if _, err := st.SaveComparison(ctx, store.Comparison{ID: id, UserID: bob.ID, Title: "x", Columns: cols}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another user updating it: %v, want ErrNotFound", err)
			}
			if list, _ := st.ListComparisons(ctx, bob.ID, 0); len(list) != 0 {
				t.Errorf("bob lists %d comparisons, want 0", len(list))
			}
		})
	}
}
