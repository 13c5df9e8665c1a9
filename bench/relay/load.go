package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
	"github.com/coze2app/coze2app/internal/coze"
)

// target is one way to reach the simulator's chat stream: directly, through
// nginx, or through coze2app.
type target struct {
	name  string
	proto benchkit.Protocol // Coze's events (direct, nginx) or ours (coze2app)
	// newRequest builds the request of stream number i of a worker.
	newRequest func(ctx context.Context, worker int) (*http.Request, error)
	client     func(worker int) *http.Client
}

// clientStream is what a client saw on one stream.
type clientStream struct {
	start    int64 // mono() before the request was sent
	headers  int64 // mono() when response headers arrived
	chatID   string
	deltaAt  []int64
	hash     uint64
	complete bool // saw the end of a completed turn
	err      string
}

// runStream sends one chat request and reads its stream to the end.
func runStream(ctx context.Context, t *target, worker int) *clientStream {
	cs := &clientStream{start: mono()}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := t.newRequest(ctx, worker)
	if err != nil {
		cs.err = "build request: " + err.Error()
		return cs
	}
	resp, err := t.client(worker).Do(req)
	if err != nil {
		cs.err = "transport: " + shortErr(err)
		return cs
	}
	defer resp.Body.Close()
	cs.headers = mono()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		cs.err = fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		return cs
	}
	h := fnv.New64a()
	rd := coze.NewEventReader(resp.Body, 0)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cs.err = "read: " + shortErr(err)
			break
		}
		switch t.proto.Kind(ev.Name, ev.Data) {
		case benchkit.Delta:
			cs.deltaAt = append(cs.deltaAt, mono())
			io.WriteString(h, t.proto.DeltaText(ev.Data))
		case benchkit.ChatIDs:
			if cs.chatID == "" {
				cs.chatID, _ = t.proto.IDs(ev.Data)
			}
		case benchkit.Completed:
			cs.complete = true
		case benchkit.Failed:
			cs.err = "ended: " + t.proto.Reason(ev.Name, ev.Data)
		}
	}
	cs.hash = h.Sum64()
	return cs
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[len(s)-120:]
	}
	return s
}

// phase runs conc workers against t for the given time and returns every
// stream started inside the measured window [warmup, warmup+measure).
func phase(ctx context.Context, t *target, conc int, stagger, warmup, measure time.Duration) (streams []*clientStream, window time.Duration) {
	begin := time.Now()
	from := mono() + int64(warmup)
	until := from + int64(measure)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			if conc > 1 {
				select {
				case <-time.After(stagger * time.Duration(w) / time.Duration(conc)):
				case <-ctx.Done():
					return
				}
			}
			var mine []*clientStream
			for ctx.Err() == nil {
				now := mono()
				if now >= until {
					break
				}
				cs := runStream(ctx, t, w)
				if cs.start >= from {
					mine = append(mine, cs)
				}
				if cs.err != "" && strings.HasPrefix(cs.err, "transport") {
					time.Sleep(10 * time.Millisecond) // do not spin on a dead target
				}
			}
			mu.Lock()
			streams = append(streams, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return streams, time.Since(begin) - warmup
}

// chatBody is the JSON a request carries.
func chatBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
