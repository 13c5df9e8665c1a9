package coze_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// loop replays a byte slice forever.
type loop struct {
	b   []byte
	off int
}

func (l *loop) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

// BenchmarkEventReader parses the captured chat stream repeatedly; one op is one event.
func BenchmarkEventReader(b *testing.B) {
	for _, name := range []string{"chat_stream_example.sse", "workflow_stream_message.sse"} {
		raw, err := os.ReadFile(filepath.Join("testdata/fixtures", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			r := coze.NewEventReader(&loop{b: raw}, 0)
			b.SetBytes(int64(len(raw)) / int64(bytes.Count(raw, []byte("\n\n"))))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkClientCall measures one non-stream call against the simulator over loopback.
func BenchmarkClientCall(b *testing.B) {
	sim := cozesim.New(cozesim.Options{})
	srv := httptest.NewServer(sim)
	b.Cleanup(func() { srv.Close(); sim.Close() })
	a, _ := sim.IssueToken(cozesim.UserAlan)
	tok := coze.AccessToken(a)
	c := coze.New(coze.Options{APIBase: srv.URL})
	calls := []struct {
		name string
		call func() error
	}{
		{"Me", func() error { _, err := c.Me(b.Context(), tok); return err }},
		{"Bots", func() error {
			_, err := c.Bots(b.Context(), tok, coze.BotListParams{WorkspaceID: cozesim.WorkspaceTeam, PublishStatus: "all"})
			return err
		}},
	}
	for _, cc := range calls {
		b.Run(cc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := cc.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Baseline: the same request with a bare http.Client, to show the client's own overhead.
	b.Run("Me/raw-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(b.Context(), "GET", srv.URL+"/v1/users/me", nil)
			req.Header.Set("Authorization", "Bearer "+a)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
