package chat_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog J.65: Shutdown with live streams ends every relay with a retry hint and a final
// event, records every reply (cut ones as incomplete "server_shutdown" once the deadline
// passes), refuses new chats and leaves no goroutine behind (checked by the harness).
func TestShutdownEndsLiveStreams(t *testing.T) {
	tests := []struct {
		name       string
		bot, msg   string
		deadline   time.Duration
		wantErr    bool
		wantStatus string
	}{
		{"deadline passes", cozesim.BotSlow, "story", 200 * time.Millisecond, true, "incomplete"},
		{"replies finish", cozesim.BotAssistant, "story chunk=12", 10 * time.Second, false, "complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHarness(t)
			h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", DeltaDelay: 5 * time.Millisecond})
			const n = 3
			streams := make([]*sseStream, n)
			chats := make([]string, n)
			seen := make([][]sseEvent, n)
			for i := range streams {
				streams[i] = h.post(t, t.Context(), "alan", chat.StartRequest{BotID: tt.bot, Message: tt.msg})
				seen[i] = streams[i].until(t, chat.EventDelta, 1)
				_, chats[i] = chatIDs(t, seen[i])
			}

			// Relays end at once with the hint, whatever the runs do.
			var wg sync.WaitGroup
			for i, s := range streams {
				wg.Go(func() {
					evs := s.all(t)
					last := evs[len(evs)-1]
					if last.ID != "" && endOf(t, evs).Status == chat.EndCompleted && !tt.wantErr {
						// On a loaded machine a short reply may finish before
						// Shutdown starts; "or finishes" is allowed (catalog J.65).
						return
					}
					if last.Retry != "3000" || last.ID != "" || endOf(t, evs).Status != chat.EndInterrupted || errorCode(evs) != "server_shutdown" {
						t.Errorf("stream %d ended with %+v, want retry 3000 + server_shutdown", i, last)
					}
				})
			}
			ctx, cancel := context.WithTimeout(t.Context(), tt.deadline)
			defer cancel()
			err := h.svc.Shutdown(ctx)
			if (err != nil) != tt.wantErr {
				t.Errorf("Shutdown = %v, want error %v", err, tt.wantErr)
			}
			wg.Wait()

			for _, id := range chats {
				m := h.mustMessage(t, h.alan, id)
				if m.Status != tt.wantStatus {
					t.Errorf("chat %s stored %q %q, want %q", id, m.Status, m.ErrorCode, tt.wantStatus)
				}
				if tt.wantErr && (m.ErrorCode != "server_shutdown" || m.Content == "") {
					t.Errorf("chat %s = %q %q, want the partial reply with server_shutdown", id, m.ErrorCode, m.Content)
				}
			}
			if _, err := h.svc.Start(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "x"}); !errors.Is(err, chat.ErrShuttingDown) {
				t.Errorf("Start after Shutdown = %v, want ErrShuttingDown", err)
			}
		})
	}
}

// Catalog I.59 (small): concurrent streams under -race, every event in order.
func TestConcurrentStreams(t *testing.T) {
	// Ten streams per user at once: above the default share (case 73).
	h := mustHarness(t, func(c *config) { c.chat.MaxRepliesPerUser = 20 })
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			user := "alan"
			if i%2 == 1 {
				user = "bea"
			}
			evs := h.post(t, t.Context(), user, chat.StartRequest{BotID: cozesim.BotMemory, Message: "hello chunk=3"}).all(t)
			for j, ev := range evs {
				if want := j + 1; ev.ID != strconv.Itoa(want) {
					t.Errorf("stream %d event %d id %q", i, j, ev.ID)
					return
				}
			}
			if endOf(t, evs).Status != chat.EndCompleted {
				t.Errorf("stream %d did not finish: %+v", i, evs[len(evs)-1])
			}
		})
	}
	wg.Wait()
	waitFor(t, "runs recorded", func() bool { return h.runsEnded.Load() == n })
}
