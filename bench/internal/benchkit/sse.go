package benchkit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"time"
)

// Event is one SSE event as the client saw it. Name and Data alias the
// reader's buffers: copy what you keep.
type Event struct {
	Name []byte
	Data []byte
	At   time.Time // when the blank line that ends the event was read
}

// SSEReader parses text/event-stream without allocating per event.
type SSEReader struct {
	br       *bufio.Reader
	name     []byte
	data     []byte
	Comments int // ": ping" heartbeats and other comment lines seen
}

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{br: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next event; io.EOF at a clean end.
func (s *SSEReader) Next(ev *Event) error {
	s.name, s.data = s.name[:0], s.data[:0]
	haveData := false
	for {
		line, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line: gather it.
			full := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = s.br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) == 0 && !haveData && len(s.name) == 0 {
				return io.EOF
			}
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if !haveData && len(s.name) == 0 {
				continue
			}
			ev.At = time.Now()
			ev.Name, ev.Data = s.name, s.data
			return nil
		}
		if line[0] == ':' {
			s.Comments++
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			s.name = append(s.name[:0], value...)
		case "data":
			if haveData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			haveData = true
		}
	}
}
