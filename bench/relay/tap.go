package main

import (
	"bytes"
	"hash/fnv"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
	"github.com/coze2app/coze2app/internal/coze"
)

// epoch is the zero of every timestamp in this process (monotonic clock).
var epoch = time.Now()

func mono() int64 { return int64(time.Since(epoch)) }

// simStream is what the simulator sent on one chat stream: the time each
// delta was flushed to the socket and a hash over the deltas' text in order
// (the text, not the event: coze2app relays it in events of its own).
type simStream struct {
	deltaAt []int64
	hash    uint64
}

// recorder keeps simStreams by chat id until the phase is matched.
type recorder struct {
	mu sync.Mutex
	m  map[string]*simStream
}

func newRecorder() *recorder { return &recorder{m: map[string]*simStream{}} }

func (r *recorder) put(chatID string, s *simStream) {
	r.mu.Lock()
	r.m[chatID] = s
	r.mu.Unlock()
}

func (r *recorder) get(chatID string) *simStream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[chatID]
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.m = map[string]*simStream{}
	r.mu.Unlock()
}

// tap wraps the simulator: on POST /v3/chat it timestamps every flushed
// delta, so a client can compute each event's one-way latency
// (arrival − flush) through any relay.
type tap struct {
	next http.Handler
	rec  *recorder
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/chat" {
		t.next.ServeHTTP(w, r)
		return
	}
	tw := &tapWriter{ResponseWriter: w, h: fnv.New64a(), s: &simStream{}}
	t.next.ServeHTTP(tw, r)
	if tw.chatID != "" {
		tw.s.hash = tw.h.Sum64()
		t.rec.put(tw.chatID, tw.s)
	}
}

type tapWriter struct {
	http.ResponseWriter
	h interface {
		Write([]byte) (int, error)
		Sum64() uint64
	}
	s       *simStream
	chatID  string
	pending bool // a delta was written and not yet flushed
}

// Write sees one whole frame per call ("event:X\ndata:Y\n\n", the
// simulator's framing, coze-protocol §16.1), read with the app's own parser.
func (t *tapWriter) Write(b []byte) (int, error) {
	if ev, err := coze.NewEventReader(bytes.NewReader(b), 0).Next(); err == nil {
		switch kind := benchkit.Coze.Kind(ev.Name, ev.Data); {
		case kind == benchkit.Delta:
			t.pending = true
			io.WriteString(t.h, benchkit.Coze.DeltaText(ev.Data))
		case kind == benchkit.ChatIDs && t.chatID == "":
			t.chatID, _ = benchkit.Coze.IDs(ev.Data)
		}
	}
	return t.ResponseWriter.Write(b)
}

// FlushError is what http.ResponseController.Flush calls first.
func (t *tapWriter) FlushError() error {
	err := http.NewResponseController(t.ResponseWriter).Flush()
	if t.pending {
		t.s.deltaAt = append(t.s.deltaAt, mono())
		t.pending = false
	}
	return err
}

// Flush serves plain http.Flusher users.
func (t *tapWriter) Flush() { _ = t.FlushError() }

// Unwrap lets ResponseController reach SetWriteDeadline on the real writer.
func (t *tapWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
