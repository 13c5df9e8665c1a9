package cozesim

import "strings"

// The request log and call counters of a simulator that may face the internet
// in demo mode (issue 8 item 4): both are bounded, whatever clients send.

const (
	// maxRequestLogBytes bounds the bytes the request log holds (bodies,
	// headers, paths); the oldest entries go first.
	maxRequestLogBytes = 16 << 20
	// maxCallKeys bounds the exact "METHOD /path" counters; route patterns
	// and grant types are always counted.
	maxCallKeys = 2048
)

// size approximates the memory a logged request holds.
func (r Request) size() int {
	n := len(r.Method) + len(r.Host) + len(r.Path) + len(r.Body) + 64
	for k, vs := range r.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	for k, vs := range r.Query {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// requestRing keeps the newest requests within maxRequests entries and
// maxRequestLogBytes bytes. Not safe for concurrent use (Sim.mu guards it).
type requestRing struct {
	buf   []Request
	head  int // index of the oldest entry
	n     int
	bytes int
}

func (q *requestRing) add(r Request) {
	size := r.size()
	for q.n > 0 && (q.n >= maxRequests || q.bytes+size > maxRequestLogBytes) {
		old := &q.buf[q.head]
		q.bytes -= old.size()
		*old = Request{} // release the body
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	if q.n == len(q.buf) { // grow, below maxRequests only
		nb := make([]Request, min(max(2*len(q.buf), 64), maxRequests))
		copy(nb, q.all())
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = r
	q.n++
	q.bytes += size
}

// all returns the entries oldest first (sharing their fields).
func (q *requestRing) all() []Request {
	out := make([]Request, 0, q.n)
	for i := range q.n {
		out = append(out, q.buf[(q.head+i)%len(q.buf)])
	}
	return out
}

func (q *requestRing) reset() { *q = requestRing{} }

// callMethod maps made-up request methods onto one counter key.
func callMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}

// clipForLog bounds a client-chosen string in a log line.
func clipForLog(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
