package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

// testReplyEvents: a reply's events come back in id order after an id, only
// to its user; a batch written again changes nothing; batches larger than one
// INSERT keep every event; old events are deleted.
func testReplyEvents(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	evs := make([]store.ReplyEvent, 2500) // more than one INSERT takes
	for i := range evs {
		evs[i] = store.ReplyEvent{ID: int64(i + 1), Name: "delta", Data: fmt.Appendf(nil, `{"text":"%d"}`, i+1)}
	}
	evs[0].Name, evs[len(evs)-1].Name = "chat", "end"
	mustNoErr(t, "AppendReplyEvents", s.AppendReplyEvents(ctx, "chat:1", alan.ID, evs[:2000]))
	mustNoErr(t, "AppendReplyEvents again", s.AppendReplyEvents(ctx, "chat:1", alan.ID, evs[1990:]))
	mustNoErr(t, "AppendReplyEvents other reply", s.AppendReplyEvents(ctx, "chat:2", bea.ID, evs[:1]))

	got, err := s.ReplyEventsAfter(ctx, "chat:1", alan.ID, 1995, 10)
	mustNoErr(t, "ReplyEventsAfter", err)
	if diff := cmp.Diff(evs[1995:2005], got); diff != "" {
		t.Errorf("events after 1995 (-want +got):\n%s", diff)
	}
	got, err = s.ReplyEventsAfter(ctx, "chat:1", alan.ID, 0, 5000)
	mustNoErr(t, "ReplyEventsAfter all", err)
	if diff := cmp.Diff(evs, got); diff != "" {
		t.Errorf("all events (-want +got):\n%s", diff)
	}
	if got, err := s.ReplyEventsAfter(ctx, "chat:1", bea.ID, 0, 10); err != nil || len(got) != 0 {
		t.Errorf("Bea reads Alan's reply: %d events, %v; want none", len(got), err)
	}

	first, last, err := s.ReplyEventBounds(ctx, "chat:1", alan.ID)
	mustNoErr(t, "ReplyEventBounds", err)
	if first.ID != 1 || first.Name != "chat" || last.ID != 2500 || last.Name != "end" {
		t.Errorf("bounds = %d %s .. %d %s, want 1 chat .. 2500 end", first.ID, first.Name, last.ID, last.Name)
	}
	_, _, err = s.ReplyEventBounds(ctx, "chat:1", bea.ID)
	wantErr(t, "ReplyEventBounds of another user's reply", err, store.ErrNotFound)
	_, _, err = s.ReplyEventBounds(ctx, "chat:3", alan.ID)
	wantErr(t, "ReplyEventBounds of an unknown reply", err, store.ErrNotFound)

	n, err := s.DeleteReplyEventsBefore(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Errorf("DeleteReplyEventsBefore(an hour ago) = %d, %v; want 0", n, err)
	}
	n, err = s.DeleteReplyEventsBefore(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 2501 {
		t.Errorf("DeleteReplyEventsBefore(now) = %d, %v; want 2501", n, err)
	}
	_, _, err = s.ReplyEventBounds(ctx, "chat:1", alan.ID)
	wantErr(t, "ReplyEventBounds after deletion", err, store.ErrNotFound)
}
