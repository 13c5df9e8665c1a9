package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
	"github.com/coze2app/coze2app/internal/coze"
)

// stream is one chat stream held open by the client.
type stream struct {
	chatID, convID string
	user           int
	cancel         context.CancelFunc
	done           chan struct{}
	closing        atomic.Bool
	events         atomic.Int64
	endErr         atomic.Value // string: why it ended before we closed it
}

// holder opens streams and keeps them open.
type holder struct {
	base     string
	bot      string
	browsers []*http.Client

	mu      sync.Mutex
	streams []*stream
	dropped atomic.Int64 // streams that ended while we held them
	drops   sync.Map     // reason → count
}

// open starts one chat and returns once its first delta arrived; a goroutine
// then reads the rest (heartbeats, slow deltas) until close.
func (h *holder) open(ctx context.Context, user int) (*stream, error) {
	sctx, cancel := context.WithCancel(context.Background())
	s := &stream{user: user, cancel: cancel, done: make(chan struct{})}
	stopTimer := context.AfterFunc(ctx, cancel) // the caller gave up
	timer := time.AfterFunc(20*time.Second, cancel)
	fail := func(err error) (*stream, error) {
		timer.Stop()
		stopTimer()
		cancel()
		return nil, err
	}
	body := fmt.Sprintf(`{"bot_id":%q,"message":"idle stream","stream":true}`, h.bot)
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, h.base+"/api/chat", strings.NewReader(body))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.browsers[user%len(h.browsers)].Do(req)
	if err != nil {
		return fail(fmt.Errorf("transport: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return fail(fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b)))
	}
	rd := coze.NewEventReader(resp.Body, 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			resp.Body.Close()
			return fail(fmt.Errorf("before first delta: %w", err))
		}
		s.events.Add(1)
		// coze2app's own events (docs/stream-contract.md), not Coze's.
		k := benchkit.App.Kind(ev.Name, ev.Data)
		switch k {
		case benchkit.ChatIDs:
			s.chatID, s.convID = benchkit.App.IDs(ev.Data)
		case benchkit.Completed, benchkit.Failed:
			resp.Body.Close()
			return fail(fmt.Errorf("ended before the first delta: %s", benchkit.App.Reason(ev.Name, ev.Data)))
		}
		if k == benchkit.Delta {
			break
		}
	}
	timer.Stop()
	stopTimer()
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		for {
			ev, err := rd.Next()
			if err != nil {
				if !s.closing.Load() {
					h.drop(s, err.Error())
				}
				return
			}
			s.events.Add(1)
			if k := benchkit.App.Kind(ev.Name, ev.Data); (k == benchkit.Completed || k == benchkit.Failed) && !s.closing.Load() {
				// The reply ended while we held it (e.g. upstream_idle, reply_timeout).
				h.drop(s, "ended: "+benchkit.App.Reason(ev.Name, ev.Data))
				return
			}
		}
	}()
	h.mu.Lock()
	h.streams = append(h.streams, s)
	h.mu.Unlock()
	return s, nil
}

func (h *holder) drop(s *stream, reason string) {
	s.endErr.Store(reason)
	h.dropped.Add(1)
	if len(reason) > 100 {
		reason = reason[:100]
	}
	v, _ := h.drops.LoadOrStore(reason, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// openMany opens n streams with par openers and reports how many failed.
func (h *holder) openMany(ctx context.Context, n, par int) (opened int, failures map[string]int) {
	return fanOut(ctx, n, par, func(i int) error {
		_, err := h.open(ctx, i+1)
		return err
	})
}

// fanOut runs do(0) … do(n-1) on par workers until ctx ends, and counts the
// calls that succeeded and the failures by (shortened) message.
func fanOut(ctx context.Context, n, par int, do func(i int) error) (ok int, failures map[string]int) {
	failures = map[string]int{}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				err := do(i)
				mu.Lock()
				if err != nil {
					msg := err.Error()
					if len(msg) > 120 {
						msg = msg[:120]
					}
					failures[msg]++
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok, failures
}

// held is the number of streams open right now.
func (h *holder) held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.streams {
		select {
		case <-s.done:
		default:
			n++
		}
	}
	return n
}

// closeAll closes every client connection (the browser tabs go away).
func (h *holder) closeAll() {
	h.mu.Lock()
	all := append([]*stream(nil), h.streams...)
	h.mu.Unlock()
	for _, s := range all {
		s.closing.Store(true)
		s.cancel()
	}
	for _, s := range all {
		<-s.done
	}
}

// cancelAll presses Stop on every chat: POST /api/chat/cancel.
func (h *holder) cancelAll(ctx context.Context, par int) (ok int, failures map[string]int) {
	h.mu.Lock()
	all := append([]*stream(nil), h.streams...)
	h.mu.Unlock()
	return fanOut(ctx, len(all), par, func(i int) error {
		s := all[i]
		body := fmt.Sprintf(`{"conversation_id":%q,"chat_id":%q}`, s.convID, s.chatID)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/api/chat/cancel", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := h.browsers[s.user%len(h.browsers)].Do(req)
		if err != nil {
			return fmt.Errorf("transport: %w", err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		return nil
	})
}
