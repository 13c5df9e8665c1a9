package chat_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// BenchmarkRelay measures events per second through Start + ServeSSE + an HTTP client,
// against the simulator with no delta delay (one-rune deltas: many small events).
// cpu-ms/op is the process's CPU time (user + system) per reply: relay, simulator and
// client together, so compare it between builds, not with nginx.
func BenchmarkRelay(b *testing.B) {
	h := mustHarness(b, func(c *config) { c.noCheck = true })
	events := 0
	cpu0 := processCPU()
	for b.Loop() {
		evs := h.post(b, b.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "benchmark chunk=1"}).all(b)
		events += len(evs)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
