package chat_test

import (
	"testing"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// BenchmarkRelay measures events per second through Start + ServeSSE + an HTTP client,
// against the simulator with no delta delay (one-rune deltas: many small events).
func BenchmarkRelay(b *testing.B) {
	h := mustHarness(b, func(c *config) { c.noCheck = true })
	events := 0
	for b.Loop() {
		evs := h.post(b, b.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "benchmark chunk=1"}).all(b)
		events += len(evs)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}
