package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/store"
)

// retryHint is sent before the final event of a relay ended by Shutdown (WHATWG SSE
// `retry:` field): reconnect after 3 s, by then another instance or the restarted one
// answers.
const retryHint = "retry: 3000\n"

// ServeSSE relays run to the browser as text/event-stream: every event with id > afterID,
// in order, exactly once each, as `id: N`, `event: <our name>`, `data: <our JSON>`
// (docs/stream-contract.md); `: ping` comments every Heartbeat while nothing else is
// sent. The last event is always `end`: the run's own, or, without an id, one that ends
// only this relay (status "interrupted": "resume_unavailable", "server_shutdown"). It returns when the run has ended and every event was sent, when the browser
// leaves or is too slow to take a write within WriteTimeout, or when Shutdown starts — the
// run itself goes on in every case. A relay that is caught up reads the upstream itself
// while it lasts (the reader lease, lease.go); it then notices a browser that left at the
// next upstream event or failed write.
//
// The only errors are returned before anything is written, so the caller can still answer
// JSON: an afterID that does not fit the run's log (errors.Is(err, ErrBadEventID), 400).
// Use afterID 0 for a fresh relay.
func (s *Service) ServeSSE(w http.ResponseWriter, r *http.Request, run *Run, afterID int64) error {
	return s.serve(w, r, run, afterID, nil, false)
}

// Relay is ServeSSE that may return before the relay is over: on a plain HTTP/1.x
// connection it takes the connection over from net/http (http.Hijacker) and relays on a
// goroutine of the Service, so that an open stream holds neither the request's goroutine
// and stack nor net/http's buffers and its background read of the connection. The
// stream is chunked and its connection goes back to Options.KeepAlive when it ends
// cleanly; without KeepAlive it answers "Connection: close". ended, when not nil, is
// called once the relay is over, whichever way it ran. A browser that leaves is noticed
// at the next write (an event or a heartbeat). Errors as ServeSSE's, returned before
// anything is written.
func (s *Service) Relay(w http.ResponseWriter, r *http.Request, run *Run, afterID int64, ended func()) error {
	return s.serve(w, r, run, afterID, ended, true)
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, run *Run, afterID int64, ended func(), detach bool) error {
	if err := run.CheckResume(afterID); err != nil {
		return err
	}
	lease, holds := run.relayClaim(afterID)
	if !holds && afterID >= run.LastEventID() {
		// Caught up already (a fresh chat): ask before the headers go out, so the
		// reader goroutine hands over before it waits for the next event (lease.go).
		run.claimLease(lease)
	}
	if detach {
		if sw, ok := s.takeOver(w, r); ok {
			ctx := context.WithoutCancel(r.Context()) // net/http cancels it when we return
			relay := func() {
				if ended != nil {
					defer ended()
				}
				clean, out := s.relay(ctx, sw, run, lease, holds, afterID)
				run.endHere(lease, out)
				sw.release(clean, s.o.KeepAlive)
			}
			if !s.goRelay(relay) {
				relay() // Shutdown has begun: this ends the stream at once
			}
			return nil
		}
	}
	if ended != nil {
		defer ended()
	}
	_, out := s.relay(r.Context(), s.startSSE(w), run, lease, holds, afterID)
	run.endHere(lease, out)
	return nil
}

// goRelay runs relay on a goroutine counted in wg, unless Shutdown has begun.
func (s *Service) goRelay(relay func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(relay)
	return true
}

// relay sends run's events after afterID to sw until the run has ended and every event
// was sent, the browser leaves or is too slow, or Shutdown starts. lease is this relay's
// claim on the reader lease; holds tells that it holds the lease from the start. clean
// reports an end after which the connection may serve another request: everything
// sent, the run's end or the relay's own. ended is the run's outcome when this relay
// read it holding the lease and sent the end event; the caller passes it to endHere,
// which it calls in every case before the response ends: a response that ended means
// a recorded reply (the page reloads the history then).
func (s *Service) relay(ctx context.Context, sw *sseWriter, run *Run, lease *leaseClaim, holds bool, afterID int64) (clean bool, ended *outcome) {
	defer s.relayOpened()()
	// A relay that holds the lease from the start sends the headers with the first
	// events, which it reads at once (Coze's first event has arrived: coze.Stream).
	if !holds {
		if err := sw.flush(); err != nil {
			return false, nil
		}
	}

	hb := time.NewTimer(s.o.Heartbeat)
	defer hb.Stop()
	cursor := afterID
	for {
		select {
		case <-s.closing:
			sw.shutdown(run.relayEndKey("server_shutdown"))
			return false, nil
		default:
		}
		evs, notify, finished, lagging := run.after(cursor)
		if lagging {
			return sw.endLagging(run) == nil, nil
		}
		if err := sw.sendEvents(evs); err != nil {
			s.log.Debug("chat relay write failed", "chat_id", run.ChatID(), "err", err)
			return false, nil
		}
		if len(evs) > 0 {
			cursor = evs[len(evs)-1].id
			hb.Reset(s.o.Heartbeat)
			continue
		}
		if finished {
			return true, nil
		}
		// Caught up: read the upstream here rather than wait for the reader (lease.go).
		if run.holdsLease(lease) {
			out := s.relayLeased(ctx, sw, run, lease, &cursor)
			return out != nil, out
		}
		run.claimLease(lease)
		select {
		case <-notify:
		case <-hb.C:
			if err := sw.raw(pingComment); err != nil {
				return false, nil
			}
			hb.Reset(s.o.Heartbeat)
		case <-ctx.Done():
			return false, nil
		case <-s.closing:
			sw.shutdown(run.relayEndKey("server_shutdown"))
			return false, nil
		}
	}
}

// pingComment is the heartbeat: an SSE comment the browser ignores.
const pingComment = ": ping\n\n"

// ParseLastEventID reads the resume position of r: the Last-Event-ID header, else the
// last_event_id query parameter; absent => 0. A value that is not 1–18 ASCII digits is
// ErrBadEventID (catalog G.52, H.58).
func ParseLastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, nil
	}
	if len(v) > 18 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q", ErrBadEventID, truncateForError(v))
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadEventID, err)
	}
	return n, nil
}

func truncateForError(s string) string { return cutRunes(strings.ToValidUTF8(s, "?"), 32) }

// sseWriter writes SSE frames with a fresh write deadline (writeFlush) before every write
// and a flush after it (STYLE rule 13; catalog G.51: a dead or slow reader is dropped, the run is not
// affected). Writes are serialized by mu: while its relay reads upstream, heartbeats and
// the shutdown end come from timers (lease.go). The first failed write fails every later
// one.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration

	// A connection taken over from net/http (takeOver) is written to directly, w and
	// rc unused; head is the response head, sent with the first write; chunked frames
	// the body so that the connection can serve another request (release).
	conn    net.Conn
	head    []byte
	chunked bool
	size    [18]byte    // a chunk's size line
	vec     [4][]byte   // the parts of one write on conn (writev), no copy
	parts   net.Buffers // over vec while a write is on

	mu       sync.Mutex
	buf      []byte
	err      error
	deadline time.Time // the write deadline set last
	wrote    time.Time // when the last write went out
}

// send writes one event; id 0 means "no id line" (our out-of-log events).
func (sw *sseWriter) send(id int64, name string, data []byte) error {
	var num [20]byte
	return sw.sendWithID(idLine(&num, id), name, data)
}

// idLine is the text of an id line, in num; none for id 0.
func idLine(num *[20]byte, id int64) []byte {
	if id > 0 {
		return strconv.AppendInt(num[:0], id, 10)
	}
	return nil
}

// sendWithID writes one event whose id line is id (none when empty).
func (sw *sseWriter) sendWithID(id []byte, name string, data []byte) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.sendLocked(id, name, data)
}

func (sw *sseWriter) sendLocked(id []byte, name string, data []byte) error {
	sw.buf = appendFrame(sw.buf[:0], id, name, data)
	return sw.writeLocked(sw.buf)
}

// maxBatch is how many bytes of frames sendEvents gathers into one write; a buffer
// grown past it is not kept (a relay's writer lives as long as its stream).
const maxBatch = 32 << 10

// sendEvents writes log events ready together (a resume's backlog, what the reader
// appended while the relay wrote) with one write and flush per maxBatch bytes rather
// than one per event; the bytes are the same.
func (sw *sseWriter) sendEvents(evs []event) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	var num [20]byte
	b := sw.buf[:0]
	for i, ev := range evs {
		b = appendFrame(b, idLine(&num, ev.id), ev.name, ev.data)
		if len(b) >= maxBatch || i == len(evs)-1 {
			if err := sw.writeLocked(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if cap(b) > maxBatch {
		b = nil
	}
	sw.buf = b
	return nil
}

// appendFrame appends one SSE frame: the id line (none when id is empty), the event
// name and the data.
func appendFrame(b, id []byte, name string, data []byte) []byte {
	if len(id) > 0 {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, sanitizeName(name)...)
	b = append(b, '\n')
	b = appendData(b, data)
	return append(b, '\n')
}

// appendData writes data as one `data:` line per line of data, so nothing in it can start
// a new SSE field (the browser joins the lines back with "\n").
func appendData(b, data []byte) []byte {
	for {
		i := indexLineBreak(data)
		b = append(b, "data: "...)
		if i < 0 {
			b = append(b, data...)
			return append(b, '\n')
		}
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

func indexLineBreak(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// relayOpened tells the relay-count hooks a relay opened and returns what tells them it
// closed.
func (s *Service) relayOpened() (closed func()) {
	if s.o.OnRelayOpen != nil {
		s.o.OnRelayOpen()
	}
	return func() {
		if s.o.OnRelayClose != nil {
			s.o.OnRelayClose()
		}
	}
}

// setSSEHeaders sets the headers of an event stream.
func setSSEHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer this response
}

// startSSE sends the headers of an event stream and returns its writer.
func (s *Service) startSSE(w http.ResponseWriter) *sseWriter {
	setSSEHeaders(w.Header())
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.o.WriteTimeout}
	sw.pushDeadline(time.Now())
	w.WriteHeader(http.StatusOK)
	return sw
}

// takeOver takes r's plain HTTP/1.x connection over from net/http (Relay) and returns a
// writer whose first write starts with the response head: status and the headers set on
// w (the middleware's and the event stream's). The body is chunked when the connection
// can serve another request afterwards (Options.KeepAlive, nothing read ahead, the
// browser did not ask to close), else it ends when the connection closes
// ("Connection: close"). ok is false where the connection is not taken (HTTP/2, TLS, a
// writer without Hijack); nothing is written then.
func (s *Service) takeOver(w http.ResponseWriter, r *http.Request) (sw *sseWriter, ok bool) {
	if r.ProtoMajor != 1 || r.TLS != nil {
		return nil, false
	}
	h := w.Header()
	setSSEHeaders(h)
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false
	}
	chunked := s.o.KeepAlive != nil && r.ProtoAtLeast(1, 1) && !r.Close && rw.Reader.Buffered() == 0
	if chunked {
		h.Set("Transfer-Encoding", "chunked")
	} else {
		h.Set("Connection", "close")
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h.Write(&head)
	head.WriteString("\r\n")
	sw = &sseWriter{conn: conn, chunked: chunked, head: head.Bytes(), timeout: s.o.WriteTimeout}
	sw.pushDeadline(time.Now())
	return sw, true
}

// shutdown ends a relay because the server stops: a reconnect hint and a final event.
func (sw *sseWriter) shutdown(key string) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.shutdownLocked(key)
}

func (sw *sseWriter) shutdownLocked(key string) {
	if sw.writeLocked([]byte(retryHint)) == nil {
		sw.sendLocked(nil, EventEnd, relayEndData("server_shutdown", key))
	}
}

// endLagging ends a relay that fell behind by more than run's bounded log holds.
func (sw *sseWriter) endLagging(run *Run) error {
	return sw.send(0, EventEnd, relayEndData("resume_unavailable", run.relayEndKey("resume_unavailable")))
}

// relayEndData is the end event of a relay that stops before its run does.
func relayEndData(code, key string) []byte {
	return endData(outcome{status: store.StatusIncomplete, code: code, key: key}, nil)
}

func (sw *sseWriter) raw(s string) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.rawLocked(s)
}

func (sw *sseWriter) rawLocked(s string) error {
	sw.buf = append(sw.buf[:0], s...)
	return sw.writeLocked(sw.buf)
}

func (sw *sseWriter) writeLocked(b []byte) error {
	if sw.err != nil {
		return sw.err
	}
	sw.err = sw.writeFlush(b)
	return sw.err
}

func (sw *sseWriter) writeFlush(b []byte) error {
	now := time.Now()
	// A deadline moved forward at most every timeout/8 still gives every write at
	// least 7/8 of the timeout, and spares a timer update per event.
	if sw.deadline.Sub(now) < sw.timeout-sw.timeout/8 {
		if err := sw.pushDeadline(now); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	sw.wrote = now
	if sw.conn != nil {
		// The parts live in sw (parts over vec): a local net.Buffers would move to
		// the heap for WriteTo's pointer receiver, one allocation per write.
		sw.parts = append(net.Buffers(sw.vec[:0]), sw.head)
		sw.head = nil
		if sw.chunked && len(b) > 0 {
			size := append(strconv.AppendInt(sw.size[:0], int64(len(b)), 16), "\r\n"...)
			sw.parts = append(sw.parts, size, b, crlf)
		} else {
			sw.parts = append(sw.parts, b)
		}
		_, err := sw.parts.WriteTo(sw.conn)
		sw.vec, sw.parts = [4][]byte{}, nil // release b
		return err
	}
	if _, err := sw.w.Write(b); err != nil {
		return err
	}
	return sw.flush()
}

var crlf = []byte("\r\n")

// release ends a relay's use of a connection it took over. A chunked body gets its last
// chunk while the connection still takes writes, so a proxy sees a whole response even
// when the relay stops early (Shutdown); after a clean end the connection then goes to
// keepAlive for the next request. Otherwise, or when that fails, it is closed.
func (sw *sseWriter) release(clean bool, keepAlive func(net.Conn) bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	// errRelayEnded only stopped our own writes (a shutdown end went out): the
	// connection still takes the last chunk.
	if sw.chunked && (sw.err == nil || sw.err == errRelayEnded) {
		sw.chunked, sw.err = false, nil // the last chunk is written as it is
		ended := sw.writeLocked([]byte("0\r\n\r\n")) == nil
		if ended && clean && keepAlive != nil && sw.conn.SetWriteDeadline(time.Time{}) == nil && keepAlive(sw.conn) {
			return
		}
	}
	sw.conn.Close()
}

// pushDeadline gives writes until a write timeout from now.
func (sw *sseWriter) pushDeadline(now time.Time) error {
	sw.deadline = now.Add(sw.timeout)
	return sw.setWriteDeadline(sw.deadline)
}

func (sw *sseWriter) setWriteDeadline(t time.Time) error {
	if sw.conn != nil {
		return sw.conn.SetWriteDeadline(t)
	}
	return sw.rc.SetWriteDeadline(t)
}

// flush sends what was written; on a connection taken over, the response head if
// nothing was written yet.
func (sw *sseWriter) flush() error {
	if sw.conn != nil {
		if sw.head == nil {
			return nil
		}
		return sw.writeFlush(nil)
	}
	if err := sw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
