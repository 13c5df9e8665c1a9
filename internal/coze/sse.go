package coze

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Event is one server-sent event. Data holds the data line(s) exactly as received (joined
// with "\n" when there are several), without the "data:" prefix and its one optional space,
// so a relay can forward it unchanged. Name is "" when the event had no event: line.
type Event struct {
	ID   string
	Name string
	Data []byte
}

// EventReader parses a text/event-stream (WHATWG HTML §9.2 framing, coze-protocol §16.1, §17.2)
// with bounded memory: no line and no event's data may exceed maxLine bytes.
//
// It accepts LF, CRLF and CR line endings, "field:value" and "field: value", id/event/data
// lines in any order, multi-line data, comment lines (":"), unknown fields and retry:
// (ignored), and a leading UTF-8 BOM. Events carrying data or an event name are dispatched at
// a blank line. At the end of the body:
//   - nothing pending: io.EOF;
//   - a pending event whose data is valid JSON and whose last line is a complete line or an
//     unterminated data: line (a final event missing its blank line, or its newline too):
//     that event, then io.EOF;
//   - anything else (a partial line of another kind, data that is not yet valid JSON, an
//     event without data): ErrStreamCut.
//
// Real streams end that way: coze-py's recorded server streams (coze-dev/coze-py
// tests/testdata/chat_text_stream_resp.txt, workflow_run_stream_resp.txt, …) stop right after
// the last data value, with a single "\n" or none (coze-protocol E2). Every Coze data value
// is a JSON object or string, so a cut inside one is never valid JSON.
//
// Errors are sticky. Read errors other than io.EOF are wrapped (io.ErrUnexpectedEOF also
// matches ErrStreamCut).
type EventReader struct {
	r     io.Reader
	buf   []byte
	start int // unread bytes are buf[start:end]
	end   int
	scan  int // bytes after start already known to hold no line terminator
	max   int
	rerr  error // error from r, reported once buffered bytes are used up
	err   error // sticky error returned by Next

	noWait    bool // readLine returns errWouldBlock instead of reading (NextBuffered)
	lend      bool // dispatch lends data instead of copying it (LendData)
	skipLF    bool // previous line ended in CR: a following LF belongs to it
	bomDone   bool
	lastEnded bool // the last line read had a terminator

	// pending event
	name    []byte
	data    []byte
	id      []byte
	hasData bool
	hasName bool
	hasID   bool
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// NewEventReader returns a reader of r; maxLine <= 0 means DefaultMaxEventBytes.
func NewEventReader(r io.Reader, maxLine int) *EventReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxEventBytes
	}
	// Start small and grow on demand: an open stream mostly waits, and
	// thousands of them should not each pin 4 KiB.
	size := min(512, maxLine+1)
	return &EventReader{r: r, buf: make([]byte, size), max: maxLine}
}

// Next returns the next event. See the type documentation for the end-of-stream rules.
func (r *EventReader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	for {
		line, err := r.readLine()
		if err == errWouldBlock {
			return Event{}, err
		}
		if err != nil {
			return r.finish(err)
		}
		if len(line) == 0 {
			if r.hasData || r.hasName {
				return r.dispatch(), nil
			}
			r.reset()
			continue
		}
		if err := r.field(line); err != nil {
			r.err = err
			return Event{}, err
		}
	}
}

// errWouldBlock is readLine's answer in NextBuffered when it would have to read.
var errWouldBlock = errors.New("coze: no buffered event")

// NextBuffered is Next without reading: it returns the next event when the bytes
// already received complete it, else ok false, keeping what it parsed so far for
// the next call. A relay uses it to send events that arrived together with one
// write.
func (r *EventReader) NextBuffered() (ev Event, ok bool, err error) {
	ev, err = r.nextNoWait()
	if err == errWouldBlock {
		return Event{}, false, nil
	}
	return ev, true, err
}

// nextNoWait is Next answering errWouldBlock where it would have to read.
func (r *EventReader) nextNoWait() (Event, error) {
	r.noWait = true
	defer func() { r.noWait = false }()
	return r.Next()
}

// splitField splits a non-empty line into its field name and value (one leading space of
// the value dropped). A comment line has the field name "".
func splitField(line []byte) (field, value []byte) {
	if line[0] == ':' {
		return nil, nil
	}
	field = line
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	return field, value
}

// field applies one non-empty line to the pending event.
func (r *EventReader) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment / keep-alive
	}
	field, value := splitField(line)
	switch string(field) {
	case "data":
		n := len(r.data) + len(value)
		if r.hasData {
			n++
		}
		if n > r.max {
			return fmt.Errorf("%w: event data over %d bytes", ErrEventTooLarge, r.max)
		}
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.hasData = true
	case "event":
		r.name = append(r.name[:0], value...)
		r.hasName = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 { // WHATWG: ids with NUL are ignored
			r.id = append(r.id[:0], value...)
			r.hasID = true
		}
	default:
		// retry: and unknown fields are ignored (WHATWG §9.2.6)
	}
	return nil
}

// LendData makes every later event's Data a view of the reader's own buffer, valid
// until the next call to Next or NextBuffered, instead of a copy: for a caller that
// decodes each event before it reads the next, one allocation and copy fewer per event.
func (r *EventReader) LendData() { r.lend = true }

func (r *EventReader) dispatch() Event {
	ev := Event{Name: internName(r.name)}
	if r.hasData {
		if r.lend {
			ev.Data = r.data[:len(r.data):len(r.data)]
		} else {
			ev.Data = bytes.Clone(r.data)
		}
		if ev.Data == nil {
			ev.Data = []byte{}
		}
	}
	if r.hasID {
		ev.ID = string(r.id)
	}
	r.reset()
	return ev
}

func (r *EventReader) reset() {
	r.name, r.data, r.id = r.name[:0], r.data[:0], r.id[:0]
	r.hasData, r.hasName, r.hasID = false, false, false
}

// finish handles the end of input or a read error.
func (r *EventReader) finish(err error) (Event, error) {
	if errors.Is(err, ErrEventTooLarge) {
		r.err = err
		return Event{}, err
	}
	partial := r.end > r.start
	if err == io.EOF && partial && r.lastDataLine() {
		// The final data line without its newline (coze-protocol E2): take it as a line;
		// the JSON check below decides whether it was complete.
		if ferr := r.field(r.buf[r.start:r.end]); ferr != nil {
			r.err = ferr
			return Event{}, ferr
		}
		r.start = r.end
		partial, r.lastEnded = false, true
	}
	pending := r.hasData || r.hasName || r.hasID
	if err == io.EOF {
		switch {
		case partial:
			r.err = ErrStreamCut
		case pending && r.hasData && r.lastEnded && json.Valid(r.data):
			r.err = io.EOF
			return r.dispatch(), nil
		case pending:
			r.err = ErrStreamCut
		default:
			r.err = io.EOF
		}
		return Event{}, r.err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		r.err = fmt.Errorf("%w: %w", ErrStreamCut, err)
	} else {
		r.err = fmt.Errorf("coze: read event stream: %w", err)
	}
	return Event{}, r.err
}

// lastDataLine reports whether the unterminated bytes left at the end of the body are a
// data: line.
func (r *EventReader) lastDataLine() bool {
	line := r.buf[r.start:r.end]
	if len(line) == 0 || r.skipLF || !r.bomDone {
		return false
	}
	field, _ := splitField(line)
	return string(field) == "data"
}

// readLine returns the next line without its terminator. The slice is valid until the next
// call. At the end of input it returns the read error; unterminated bytes stay buffered.
func (r *EventReader) readLine() ([]byte, error) {
	for {
		if r.skipLF && r.start < r.end {
			if r.buf[r.start] == '\n' {
				r.start++
			}
			r.skipLF = false
		}
		if !r.bomDone {
			n := r.end - r.start
			if n >= len(bom) || r.rerr != nil {
				if bytes.HasPrefix(r.buf[r.start:r.end], bom) {
					r.start += len(bom)
				}
				r.bomDone = true
			} else if !bytes.Equal(r.buf[r.start:r.end], bom[:n]) {
				r.bomDone = true
			}
		}
		if r.bomDone && !r.skipLF {
			chunk := r.buf[r.start+r.scan : r.end]
			if i := indexEOL(chunk); i >= 0 {
				i += r.scan
				line := r.buf[r.start : r.start+i]
				if r.buf[r.start+i] == '\r' {
					r.skipLF = true
				}
				r.start += i + 1
				r.scan = 0
				r.lastEnded = true
				return line, nil
			}
			r.scan = r.end - r.start
			if r.scan > r.max {
				return nil, fmt.Errorf("%w: line over %d bytes", ErrEventTooLarge, r.max)
			}
		}
		if r.rerr != nil {
			if r.end > r.start {
				r.lastEnded = false
			}
			return nil, r.rerr
		}
		if r.noWait {
			return nil, errWouldBlock
		}
		r.fill()
	}
}

// indexEOL finds the first CR or LF.
func indexEOL(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	if j := bytes.IndexByte(b[:i], '\r'); j >= 0 {
		return j
	}
	if i == len(b) {
		return -1
	}
	return i
}

// fill reads more input, compacting or growing the buffer up to max+1 bytes.
func (r *EventReader) fill() {
	if r.start > 0 && (r.end == len(r.buf) || r.start >= len(r.buf)/2) {
		copy(r.buf, r.buf[r.start:r.end])
		r.end -= r.start
		r.start = 0
	}
	if r.end == len(r.buf) {
		n := min(2*len(r.buf), r.max+1)
		if n <= len(r.buf) {
			r.rerr = fmt.Errorf("%w: line over %d bytes", ErrEventTooLarge, r.max)
			return
		}
		nb := make([]byte, n)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for range 100 {
		n, err := r.r.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.rerr = errors.New("coze: invalid Read count")
			return
		}
		r.end += n
		if err != nil {
			r.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.rerr = io.ErrNoProgress
}

// peekBareJSON reports whether the stream's first non-blank byte is '{': a pre-stream error
// sent as a bare JSON object on an SSE response (§3.3, §19 Q6). It reads at most one line.
func (r *EventReader) peekBareJSON() (bool, error) {
	for {
		if r.end-r.start >= len(bom) || r.rerr != nil {
			if !r.bomDone && bytes.HasPrefix(r.buf[r.start:r.end], bom) {
				r.start += len(bom)
			}
			r.bomDone = true
			for _, b := range r.buf[r.start:r.end] {
				switch b {
				case ' ', '\t', '\r', '\n':
					continue
				case '{':
					return true, nil
				}
				return false, nil
			}
		}
		if r.rerr != nil {
			return false, nil
		}
		if r.end-r.start > r.max {
			return false, nil
		}
		r.fill()
	}
}

// rest returns the buffered bytes followed by the unread input.
func (r *EventReader) rest() io.Reader {
	return io.MultiReader(bytes.NewReader(r.buf[r.start:r.end]), r.r)
}

// internName returns the well-known event names without allocating.
func internName(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case EventMessageDelta:
		return EventMessageDelta
	case EventMessageCompleted:
		return EventMessageCompleted
	case EventChatCreated:
		return EventChatCreated
	case EventChatInProgress:
		return EventChatInProgress
	case EventChatCompleted:
		return EventChatCompleted
	case EventChatFailed:
		return EventChatFailed
	case EventChatRequiresAction:
		return EventChatRequiresAction
	case EventAudioDelta:
		return EventAudioDelta
	case EventError:
		return EventError
	case EventDone:
		return EventDone
	case WorkflowMessage:
		return WorkflowMessage
	case WorkflowError:
		return WorkflowError
	case WorkflowDone:
		return WorkflowDone
	case WorkflowInterrupt:
		return WorkflowInterrupt
	case WorkflowPing:
		return WorkflowPing
	}
	return string(b)
}
