package coze

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// FuzzEventReader checks that any input parses without panic, with bounded output, to the
// same events and final error whatever the read chunking and whether a relay takes the
// events already received first (NextBuffered), and only ends in io.EOF,
// ErrStreamCut or ErrEventTooLarge. Seeds: testdata/fuzz/FuzzEventReader and the fixtures.
func FuzzEventReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.sse"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b, uint8(0))
		}
	}
	f.Add([]byte("event:x\r\ndata:{}\r\n\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, small uint8) {
		maxLine := 4096
		if small > 0 {
			maxLine = int(small)
		}
		whole, wErr := parseAll(bytes.NewReader(in), maxLine, len(in)+2)
		one, oErr := parseAll(iotest.OneByteReader(bytes.NewReader(in)), maxLine, len(in)+2)
		if !errors.Is(wErr, io.EOF) && !errors.Is(wErr, ErrStreamCut) && !errors.Is(wErr, ErrEventTooLarge) {
			t.Fatalf("final error %v", wErr)
		}
		if !sameErr(wErr, oErr) {
			t.Fatalf("whole err %v, one-byte err %v", wErr, oErr)
		}
		if diff := cmp.Diff(whole, one); diff != "" {
			t.Fatalf("chunking changed events (-whole +onebyte):\n%s", diff)
		}
		buffered, bErr := parseBuffered(iotest.HalfReader(bytes.NewReader(in)), maxLine, len(in)+2)
		if !sameErr(wErr, bErr) {
			t.Fatalf("whole err %v, buffered err %v", wErr, bErr)
		}
		if diff := cmp.Diff(whole, buffered); diff != "" {
			t.Fatalf("NextBuffered changed events (-whole +buffered):\n%s", diff)
		}
		total := 0
		for _, e := range whole {
			if len(e.Data) > maxLine || len(e.Name) > maxLine || len(e.ID) > maxLine {
				t.Fatalf("event over the line cap %d: %d/%d/%d", maxLine, len(e.Data), len(e.Name), len(e.ID))
			}
			total += len(e.Data)
		}
		if total > len(in) {
			t.Fatalf("events hold %d data bytes from %d input bytes", total, len(in))
		}
	})
}

// parseBuffered reads as a leased relay does: the events already received with
// NextBuffered, then one Next that waits for more, each event's data lent
// (LendData) and copied before the next read.
func parseBuffered(r io.Reader, maxLine, limit int) ([]ev, error) {
	er := NewEventReader(r, maxLine)
	er.LendData()
	var out []ev
	for range limit {
		e, ok, err := er.NextBuffered()
		if !ok {
			e, err = er.Next()
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev{e.ID, e.Name, string(e.Data)})
	}
	return out, errors.New("too many events: reader does not make progress")
}

func parseAll(r io.Reader, maxLine, limit int) ([]ev, error) {
	er := NewEventReader(r, maxLine)
	var out []ev
	for range limit {
		e, err := er.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev{e.ID, e.Name, string(e.Data)})
	}
	return out, errors.New("too many events: reader does not make progress")
}
