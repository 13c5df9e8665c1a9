package main

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
)

type results struct {
	Machine    benchkit.Machine `json:"machine"`
	Bot        string           `json:"bot_id"`
	Modes      []string         `json:"modes"`
	Levels     []levelResult    `json:"levels"`
	AppLogTail []string         `json:"app_log_tail,omitempty"`
	AppEnv     []string         `json:"app_env,omitempty"`
	Method     string           `json:"method"`
}

const method = "Workers stream chats back to back for the window (after warm-up). TTFD = request sent → first " +
	"delta parsed by the client (Coze's conversation.message.delta on direct and nginx, coze2app's own delta " +
	"event on app). Event latency = one-way latency of deltas 1..n: client arrival − the simulator's flush of " +
	"the same delta (in-process tap, same monotonic clock); first_delta_latency is delta 0. Overhead = relay − " +
	"direct of each percentile. Both sides hash the deltas' text to check every delta arrived, in order, unchanged."

type levelResult struct {
	Concurrency int                     `json:"concurrency"`
	Delay       string                  `json:"delta_delay"`
	Chunk       int                     `json:"chunk_runes"`
	Message     string                  `json:"message"`
	Phases      map[string]*phaseResult `json:"phases"`
	// Overhead is relay − direct for each relay, in ms.
	Overhead map[string]overhead `json:"overhead_ms"`
	// CPUPerReplyVsNginx is coze2app's CPU per reply over nginx's, both
	// measured in this level (target ≤ 2).
	CPUPerReplyVsNginx float64 `json:"cpu_per_reply_app_over_nginx,omitempty"`
}

type phaseResult struct {
	Mode    string  `json:"mode"`
	WindowS float64 `json:"window_s"`
	WallS   float64 `json:"wall_s"`
	LoadAvg string  `json:"load_avg_before"`
	Streams int     `json:"streams"`
	Errors  int     `json:"errors"`
	// Incomplete streams ended without a completed turn (Coze's
	// conversation.chat.completed, or our end with status completed).
	Incomplete int `json:"incomplete"`
	// Mismatched streams carried other deltas (count or content) than the
	// simulator sent; Unmatched ones had no simulator record.
	Mismatched   int              `json:"mismatched"`
	Unmatched    int              `json:"unmatched"`
	ErrorSamples map[string]int   `json:"error_samples,omitempty"`
	Deltas       int              `json:"deltas"`
	DeltasPerSec float64          `json:"deltas_per_s"`
	Headers      benchkit.Summary `json:"time_to_headers"`
	TTFD         benchkit.Summary `json:"ttfd"`
	// FirstDelta is the one-way latency of delta 0 (sim flush → client).
	FirstDelta benchkit.Summary `json:"first_delta_latency"`
	// Event is the one-way latency of deltas 1..n (sim flush → client).
	Event      benchkit.Summary   `json:"event_latency"`
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	// CPUMSPerReply is the relay's CPU time per streamed reply (ms): the
	// relay process's (nginx: master and workers, from /proc/PID/stat) CPU
	// seconds of the phase over its streams; 0 for direct.
	CPUMSPerReply float64  `json:"cpu_ms_per_reply"`
	Profile       *profile `json:"app_profile,omitempty"`
}

// relayCPU is the CPU seconds the relay of mode m used in the phase.
func (p *phaseResult) relayCPU() float64 {
	switch p.Mode {
	case "app":
		return p.CPUSeconds["coze2app"]
	case "nginx":
		return p.CPUSeconds["nginx"]
	}
	return 0
}

type overhead struct {
	TTFDP50  float64 `json:"ttfd_p50"`
	TTFDP99  float64 `json:"ttfd_p99"`
	EventP50 float64 `json:"event_p50"`
	EventP99 float64 `json:"event_p99"`
}

const ms = 1e6 // ns per ms

// match pairs every client stream with the simulator's record of the same
// chat and computes TTFD and per-delta one-way latencies.
func match(streams []*clientStream, rec *recorder, dump io.Writer) *phaseResult {
	pr := &phaseResult{ErrorSamples: map[string]int{}}
	if dump != nil {
		fmt.Fprintln(dump, "stream,k,sim_flush_ms,client_arrival_ms,latency_ms")
	}
	var hdr, ttfd, first, ev []float64
	for _, cs := range streams {
		pr.Streams++
		if cs.err != "" {
			pr.Errors++
			if len(pr.ErrorSamples) < 20 {
				pr.ErrorSamples[cs.err]++
			}
			continue
		}
		if !cs.complete {
			pr.Incomplete++
		}
		hdr = append(hdr, float64(cs.headers-cs.start)/ms)
		if len(cs.deltaAt) > 0 {
			ttfd = append(ttfd, float64(cs.deltaAt[0]-cs.start)/ms)
		}
		ss := rec.get(cs.chatID)
		if ss == nil {
			pr.Unmatched++
			continue
		}
		if len(ss.deltaAt) != len(cs.deltaAt) || ss.hash != cs.hash {
			pr.Mismatched++
		}
		n := min(len(ss.deltaAt), len(cs.deltaAt))
		pr.Deltas += n
		for k := range n {
			lat := float64(cs.deltaAt[k]-ss.deltaAt[k]) / ms
			if k == 0 {
				// The first delta waits for everything a relay does before it
				// streams; that is TTFD's story, so it is summarised apart.
				first = append(first, lat)
			} else {
				ev = append(ev, lat)
			}
			if dump != nil {
				fmt.Fprintf(dump, "%d,%d,%.3f,%.3f,%.3f\n", pr.Streams, k, float64(ss.deltaAt[k]-cs.start)/ms,
					float64(cs.deltaAt[k]-cs.start)/ms, float64(cs.deltaAt[k]-ss.deltaAt[k])/ms)
			}
		}
	}
	if len(pr.ErrorSamples) == 0 {
		pr.ErrorSamples = nil
	}
	pr.Headers, pr.TTFD, pr.Event = benchkit.Summarize(hdr), benchkit.Summarize(ttfd), benchkit.Summarize(ev)
	pr.FirstDelta = benchkit.Summarize(first)
	return pr
}

func overheads(p map[string]*phaseResult) map[string]overhead {
	d, ok := p["direct"]
	if !ok {
		return nil
	}
	out := map[string]overhead{}
	for name, r := range p {
		if name == "direct" {
			continue
		}
		out[name] = overhead{
			TTFDP50: benchkit.Round3(r.TTFD.P50 - d.TTFD.P50), TTFDP99: benchkit.Round3(r.TTFD.P99 - d.TTFD.P99),
			EventP50: benchkit.Round3(r.Event.P50 - d.Event.P50), EventP99: benchkit.Round3(r.Event.P99 - d.Event.P99),
		}
	}
	return out
}

func printTable(w io.Writer, res *results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\tdelay\tpath\tstreams\terrors\tTTFD p50\tTTFD p99\tevent p50\tevent p99\tCPU s\tCPU ms/reply\t")
	for _, l := range res.Levels {
		for _, m := range res.Modes {
			p := l.Phases[m]
			if p == nil {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\t%.3f\t\n", l.Concurrency, l.Delay, m, p.Streams,
				p.Errors+p.Mismatched+p.Unmatched+p.Incomplete, p.TTFD.P50, p.TTFD.P99, p.Event.P50, p.Event.P99,
				p.relayCPU(), p.CPUMSPerReply)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\noverhead = relay − direct (ms)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\tdelay\trelay\tTTFD p50\tTTFD p99\tevent p50\tevent p99\tCPU/reply vs nginx\t")
	for _, l := range res.Levels {
		names := make([]string, 0, len(l.Overhead))
		for n := range l.Overhead {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			o := l.Overhead[n]
			ratio := ""
			if n == "app" && l.CPUPerReplyVsNginx > 0 {
				ratio = fmt.Sprintf("×%.2f", l.CPUPerReplyVsNginx)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%+.3f\t%+.3f\t%+.3f\t%+.3f\t%s\t\n", l.Concurrency, l.Delay, n, o.TTFDP50, o.TTFDP99, o.EventP50, o.EventP99, ratio)
		}
	}
	tw.Flush()
}
