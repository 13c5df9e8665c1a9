package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Fan-in (issue 12): a comparison streams 2–4 replies at once. Browsers allow six
// connections per origin over HTTP/1.1, so the replies of one comparison travel
// over one SSE response. Each reply is an ordinary Run with its own log and resume
// position; the fan-in only reads the logs, as ServeSSE does.

// MaxFanIn is the number of replies one fan-in carries.
const MaxFanIn = 4

// ErrBadFanInID is a Last-Event-ID of a fan-in that does not parse.
var ErrBadFanInID = errors.New("chat: bad fan-in event id")

// FanInColumn is one reply of a fan-in: the page's column tag, its run (nil when the
// reply is no longer held), and the id of the last event the page has of it.
type FanInColumn struct {
	Tag   string
	Run   *Run
	After int64
}

// WaitChat waits until the run knows its Coze chat id (its `chat` event is in the
// log) or ended without one. It returns the chat id, or "" and the run's end event
// data when the reply failed before Coze named the chat.
func (r *Run) WaitChat(ctx context.Context) (chatID string, end []byte, err error) {
	for {
		r.mu.Lock()
		id, logged, finished, notify := r.chatID, r.lastID > 0, r.finished, r.notifyLocked()
		r.mu.Unlock()
		if id != "" && logged {
			return id, nil, nil
		}
		if finished {
			evs, _, _, _ := r.after(0)
			for i := len(evs) - 1; i >= 0; i-- {
				if evs[i].name == EventEnd {
					return id, evs[i].data, nil
				}
			}
			return id, relayEndData("incomplete", "The reply ended before it began."), nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
}

// ParseFanInID reads a fan-in resume position: "tag:N,tag:N" from Last-Event-ID or
// the last_event_id query parameter (absent => every column from the start). Tags are
// 1–8 letters, digits or '-'; N is 0–18 digits.
func ParseFanInID(r *http.Request) (map[string]int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	out := map[string]int64{}
	if v == "" {
		return out, nil
	}
	if len(v) > 200 {
		return nil, fmt.Errorf("%w: too long", ErrBadFanInID)
	}
	for part := range strings.SplitSeq(v, ",") {
		tag, n, ok := strings.Cut(part, ":")
		if !ok || !validTag(tag) || n == "" || len(n) > 18 || strings.Trim(n, "0123456789") != "" {
			return nil, fmt.Errorf("%w: %q", ErrBadFanInID, part)
		}
		id, _ := strconv.ParseInt(n, 10, 64)
		out[tag] = id
	}
	return out, nil
}

func validTag(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// fanInData wraps a run's event for the fan-in.
type fanInData struct {
	Column string          `json:"column"`
	ID     int64           `json:"id,omitempty"`
	Data   json.RawMessage `json:"data"`
}

// ServeFanIn relays several runs over one text/event-stream response. Every event keeps
// its name (docs/stream-contract.md); its data is {"column","id","data"}: the column tag,
// the event's id in its own run, and the run's event data. The SSE id is the resume
// vector after the event ("tag:N,tag:N", every column), which the page sends back as
// Last-Event-ID. A column whose run is gone, or whose reader fell behind the bounded log,
// gets an end of its own (interrupted, resume_unavailable) without an id. It returns when
// every column has sent its end, when the browser leaves or stalls, or at Shutdown
// (each unfinished column then gets an end server_shutdown). Errors come only before
// anything is written: an After beyond its run's log (ErrBadEventID).
func (s *Service) ServeFanIn(w http.ResponseWriter, r *http.Request, cols []FanInColumn) error {
	if len(cols) == 0 || len(cols) > MaxFanIn {
		return fmt.Errorf("%w: %d columns", ErrBadRequest, len(cols))
	}
	for _, c := range cols {
		if c.Run == nil {
			continue
		}
		if err := c.Run.CheckResume(c.After); err != nil {
			return err
		}
	}
	defer s.relayOpened()()
	sw := s.startSSE(w)
	if err := sw.flush(); err != nil {
		return nil
	}

	cursor := make([]int64, len(cols))
	ended := make([]bool, len(cols))
	for i, c := range cols {
		cursor[i] = c.After
	}
	// appendVector appends every column's position, "tag:N,…", the stream's event id.
	appendVector := func(b []byte) []byte {
		for i, c := range cols {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, c.Tag...)
			b = append(b, ':')
			b = strconv.AppendInt(b, cursor[i], 10)
		}
		return b
	}
	var vector []byte // reused for every id line
	send := func(i int, id int64, name string, data []byte) error {
		wrapped, err := json.Marshal(fanInData{Column: cols[i].Tag, ID: id, Data: data})
		if err != nil {
			return err
		}
		var idLine []byte
		if id > 0 {
			cursor[i] = id
			vector = appendVector(vector[:0])
			idLine = vector
		}
		return sw.sendWithID(idLine, name, wrapped)
	}
	endColumn := func(i int, code string) error {
		ended[i] = true
		key := "relay_resume_unavailable"
		if run := cols[i].Run; run != nil {
			key = run.relayEndKey(code)
		}
		return send(i, 0, EventEnd, relayEndData(code, key))
	}
	shutdown := func() error {
		if sw.raw(retryHint) != nil {
			return nil
		}
		for i := range cols {
			if !ended[i] {
				if endColumn(i, "server_shutdown") != nil {
					return nil
				}
			}
		}
		return nil
	}

	ctx := r.Context()
	hb := time.NewTimer(s.o.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-s.closing:
			return shutdown()
		default:
		}
		// Drain every column once, then wait for any of them to change.
		sent, live := false, 0
		cases := make([]reflect.SelectCase, 0, len(cols)+3)
		for i, c := range cols {
			if ended[i] {
				continue
			}
			if c.Run == nil {
				if endColumn(i, "resume_unavailable") != nil {
					return nil
				}
				sent = true
				continue
			}
			evs, notify, finished, lagging := c.Run.after(cursor[i])
			if lagging {
				if endColumn(i, "resume_unavailable") != nil {
					return nil
				}
				sent = true
				continue
			}
			for _, ev := range evs {
				if err := send(i, ev.id, ev.name, ev.data); err != nil {
					s.log.Debug("chat fan-in write failed", "chat_id", c.Run.ChatID(), "err", err)
					return nil
				}
				sent = true
			}
			if finished && len(evs) == 0 {
				ended[i] = true // its end event was sent with the rest of its log
				continue
			}
			live++
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(notify)})
		}
		if sent {
			hb.Reset(s.o.Heartbeat)
			continue
		}
		if live == 0 {
			return nil
		}
		hbCase, doneCase, closingCase := len(cases), len(cases)+1, len(cases)+2
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(hb.C)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.closing)})
		switch chosen, _, _ := reflect.Select(cases); chosen {
		case hbCase:
			if err := sw.raw(pingComment); err != nil {
				return nil
			}
			hb.Reset(s.o.Heartbeat)
		case doneCase:
			return nil
		case closingCase:
			return shutdown()
		}
	}
}
