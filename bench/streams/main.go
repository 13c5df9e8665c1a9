// Command streams measures what idle open chat streams cost one coze2app
// instance: RSS and goroutines per stream while ramping up to thousands of
// streams, then whether goroutines and file descriptors return to baseline
// once the streams are closed and the replies stopped.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
)

const (
	clientID     = "40000000000000000000000000000004.app.coze"
	clientSecret = "bench_secret_streams_0123456789abcd"
	// botSlow is cozesim.BotSlow, the Slow Storyteller of the team workspace.
	botSlow = "7394000000000000004"
)

func main() {
	appBin := flag.String("app-bin", "/tmp/coze2app", "coze2app binary (also runs the simulator)")
	stepsSpec := flag.String("steps", "1000,2000,4000,8000", "cumulative stream counts to measure at")
	probe := flag.Int("probe", 9500, "after the steps, keep adding 500 streams up to this many (0 = off)")
	delay := flag.Duration("delta-delay", 40*time.Second, "simulator pause between deltas; below coze2app's 60 s upstream idle timeout")
	settle := flag.Duration("settle", 5*time.Second, "wait after each step before sampling")
	par := flag.Int("par", 64, "streams opened in parallel")
	pprofAddr := flag.String("pprof", "", "start coze2app with COZE2APP_DEBUG_ADDR (net/http/pprof) here and profile its heap at each step")
	profileDir := flag.String("profile-dir", "", "keep the raw profiles here (default: the run's temp dir, removed at the end)")
	out := flag.String("out", "bench/results/streams.json", "results file")
	var appEnv benchkit.MultiFlag
	flag.Var(&appEnv, "app-env", "extra KEY=VALUE for coze2app (repeatable), e.g. COZE_API_H2C=on")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)

	var steps []int
	for _, f := range strings.Split(*stepsSpec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			log.Fatalf("steps: %v", err)
		}
		steps = append(steps, n)
	}
	if *probe > 0 {
		last := steps[len(steps)-1]
		for n := last + 500; n <= *probe; n += 500 {
			steps = append(steps, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg{appBin: *appBin, steps: steps, probeFrom: len(strings.Split(*stepsSpec, ",")),
		delay: *delay, settle: *settle, par: *par, pprof: *pprofAddr, profileDir: *profileDir, appEnv: appEnv})
	benchkit.Report(*out, res, err, printTable)
}

type cfg struct {
	appBin     string
	steps      []int
	probeFrom  int // steps[probeFrom:] are the probe
	delay      time.Duration
	settle     time.Duration
	par        int
	pprof      string
	profileDir string // "" = the run's temp dir
	appEnv     []string
}

type results struct {
	Machine    benchkit.Machine `json:"machine"`
	DeltaDelay string           `json:"delta_delay"`
	AppEnv     []string         `json:"app_env,omitempty"`
	Bot        string           `json:"bot_id"`
	Baseline   sample           `json:"baseline"`
	Steps      []sample         `json:"steps"`
	// MaxHeld is the most streams held at once with every open succeeding.
	MaxHeld      int              `json:"max_held"`
	ProbeStopped string           `json:"probe_stopped,omitempty"`
	ClientsGone  sample           `json:"after_clients_closed"`
	Stopped      sample           `json:"after_replies_stopped"`
	IdleClosed   sample           `json:"after_upstream_idle_closed"`
	CancelFails  map[string]int   `json:"cancel_failures,omitempty"`
	Drops        map[string]int64 `json:"drops,omitempty"`
	Leak         leak             `json:"leak_vs_baseline"`
	HeapTop      []string         `json:"heap_top,omitempty"`
	HeapAfterTop []string         `json:"heap_after_top,omitempty"`
	GoroutineTop []string         `json:"goroutine_top,omitempty"`
	AppLogTail   []string         `json:"app_log_tail,omitempty"`
}

type leak struct {
	Goroutines float64 `json:"goroutines"`
	FDs        int     `json:"fds"`
	RSSKiB     int64   `json:"rss_kib"`
}

type sample struct {
	Label        string             `json:"label"`
	Streams      int                `json:"streams"`
	Since        float64            `json:"s_since_first_open"`
	OpenSeconds  float64            `json:"open_seconds,omitempty"`
	OpenFailures map[string]int     `json:"open_failures,omitempty"`
	Dropped      int64              `json:"dropped"`
	Proc         benchkit.ProcStats `json:"proc"`
	Goroutines   float64            `json:"goroutines"`
	Mem          map[string]float64 `json:"memstats"`
	FDKinds      map[string]int     `json:"fd_kinds,omitempty"`
	PerStream    *perStream         `json:"per_stream,omitempty"`
}

type perStream struct {
	RSSKiB        float64 `json:"rss_kib"`
	Goroutines    float64 `json:"goroutines"`
	FDs           float64 `json:"fds"`
	HeapInuseKiB  float64 `json:"heap_inuse_kib"`
	StackInuseKiB float64 `json:"stack_inuse_kib"`
	SysKiB        float64 `json:"go_sys_kib"`
}

var memKeys = []string{
	"go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes", "go_memstats_heap_idle_bytes",
	"go_memstats_heap_released_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_mspan_inuse_bytes",
	"go_memstats_sys_bytes", "go_memstats_next_gc_bytes", "go_memstats_other_sys_bytes", "go_memstats_gc_sys_bytes",
	"process_resident_memory_bytes", "process_open_fds",
}

// rig is one run's coze2app, simulator and signed-in clients.
type rig struct {
	c          cfg
	app, sim   *benchkit.Proc
	h          *holder
	tr         *http.Transport
	metricsURL string
}

func run(ctx context.Context, c cfg) (*results, error) {
	dir, err := os.MkdirTemp("", "coze2app-bench-streams-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if c.profileDir == "" {
		c.profileDir = dir
	}
	r, err := start(ctx, c, dir)
	if r != nil {
		defer r.stop()
	}
	if err != nil {
		return nil, err
	}
	res := &results{Machine: benchkit.DescribeMachine(), DeltaDelay: c.delay.String(), Bot: r.h.bot, AppEnv: c.appEnv}
	defer func() {
		if b, err := os.ReadFile(r.app.LogPath); err == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			res.AppLogTail = lines[max(0, len(lines)-20):]
		}
	}()
	time.Sleep(2 * time.Second)
	if res.Baseline, err = r.take(ctx, "baseline"); err != nil {
		return res, err
	}
	log.Printf("baseline: rss %d KiB, goroutines %.0f, fds %d", res.Baseline.Proc.RSSKiB, res.Baseline.Goroutines, res.Baseline.Proc.FDs)
	if err := r.ramp(ctx, res); err != nil {
		return res, err
	}
	if err := r.release(ctx, res); err != nil {
		return res, err
	}
	res.Drops = map[string]int64{}
	r.h.drops.Range(func(k, v any) bool {
		res.Drops[k.(string)] = v.(interface{ Load() int64 }).Load()
		return true
	})
	return res, nil
}

// start runs the simulator and coze2app as child processes and signs three
// users in. The returned rig, even with an error, must be stopped.
func start(ctx context.Context, c cfg, dir string) (*rig, error) {
	appAddr, _ := benchkit.FreeAddr()
	simAddr, _ := benchkit.FreeAddr()
	metricsAddr, _ := benchkit.FreeAddr()
	ac := benchkit.AppConfig{Bin: c.appBin, Dir: dir, Addr: appAddr, SimBase: "http://" + simAddr,
		ClientID: clientID, ClientSecret: clientSecret,
		// /metrics is served only on its own address (issue 8 item 12).
		Env: append([]string{"COZE2APP_METRICS_ADDR=" + metricsAddr}, c.appEnv...)}
	if c.pprof != "" {
		ac.Env = append(ac.Env, "COZE2APP_DEBUG_ADDR="+c.pprof)
	}
	r := &rig{c: c, metricsURL: "http://" + metricsAddr + "/metrics"}
	var err error
	if r.sim, err = benchkit.StartSimProcess(ctx, c.appBin, dir, simAddr, clientID, clientSecret, ac.RedirectURI(), c.delay); err != nil {
		return r, fmt.Errorf("start simulator: %w", err)
	}
	if r.app, err = benchkit.StartApp(ctx, ac); err != nil {
		return r, fmt.Errorf("start coze2app: %w", err)
	}
	base := "http://" + appAddr
	r.tr = benchkit.NewTransport(c.steps[len(c.steps)-1] + 100)
	r.h = &holder{base: base, bot: botSlow}
	for i := range 3 {
		b := benchkit.NewBrowser(r.tr)
		if err := benchkit.SignIn(ctx, b, base, i); err != nil {
			return r, fmt.Errorf("sign in user %d: %w", i, err)
		}
		r.h.browsers = append(r.h.browsers, b)
	}
	return r, nil
}

// stop ends coze2app, then the simulator (a no-op when release stopped it).
func (r *rig) stop() {
	if r.app != nil {
		r.app.Stop(syscall.SIGTERM, 25*time.Second)
	}
	if r.sim != nil {
		r.sim.Stop(syscall.SIGTERM, 10*time.Second)
	}
}

// take samples the coze2app process: /proc, /metrics and its fds.
func (r *rig) take(ctx context.Context, label string) (sample, error) {
	st, err := benchkit.ReadProc(r.app.PID())
	if err != nil {
		return sample{}, err
	}
	m, err := benchkit.Scrape(ctx, r.h.browsers[0], r.metricsURL)
	if err != nil {
		return sample{}, err
	}
	s := sample{Label: label, Proc: st, Goroutines: m["go_goroutines"], Mem: map[string]float64{}, Dropped: r.h.dropped.Load(),
		FDKinds: benchkit.FDKinds(r.app.PID())}
	for _, k := range memKeys {
		s.Mem[k] = m[k]
	}
	for k, v := range m {
		if strings.HasPrefix(k, "coze2app_") && strings.Contains(k, "stream") && !strings.Contains(k, "_bucket") {
			s.Mem[k] = v
		}
	}
	return s, nil
}

// ramp opens streams up to each step and samples once they settled; it stops
// at the first step where an open failed, or before the first streams reach
// coze2app's reply timeout.
func (r *rig) ramp(ctx context.Context, res *results) error {
	first := time.Now()
	for i, target := range r.c.steps {
		n := target - r.h.held()
		t0 := time.Now()
		opened, failures := r.h.openMany(ctx, n, r.c.par)
		openSecs := time.Since(t0).Seconds()
		log.Printf("step %d: opened %d/%d in %.1fs (%d failures)", target, opened, n, openSecs, n-opened)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(r.c.settle)
		s, err := r.take(ctx, fmt.Sprintf("%d streams", target))
		if err != nil {
			return err
		}
		s.Streams, s.Since, s.OpenSeconds = r.h.held(), benchkit.Round3(time.Since(first).Seconds()), benchkit.Round3(openSecs)
		if len(failures) > 0 {
			s.OpenFailures = failures
		}
		s.PerStream = per(res.Baseline, s)
		res.Steps = append(res.Steps, s)
		log.Printf("  held %d: rss %d KiB (%.1f KiB/stream), goroutines %.0f (%.2f/stream), fds %d",
			s.Streams, s.Proc.RSSKiB, s.PerStream.RSSKiB, s.Goroutines, s.PerStream.Goroutines, s.Proc.FDs)
		if r.c.pprof != "" {
			saveHeap(ctx, r.c, target, res)
		}
		if len(failures) > 0 || s.Streams < target {
			if i >= r.c.probeFrom {
				res.ProbeStopped = fmt.Sprintf("at %d: %d open failures, %d held", target, n-opened, s.Streams)
			} else {
				res.ProbeStopped = fmt.Sprintf("at step %d: %d open failures, %d held", target, n-opened, s.Streams)
			}
			return nil
		}
		res.MaxHeld = s.Streams
		if time.Since(first) > 4*time.Minute {
			res.ProbeStopped = "stopped before coze2app's 5 min reply timeout ends the first streams"
			return nil
		}
	}
	return nil
}

// release lets go in stages and samples after each: the browsers leave, every
// reply is stopped, the simulator ends (closing coze2app's idle upstream
// connections); what is left against the baseline is a leak.
func (r *rig) release(ctx context.Context, res *results) error {
	take := func(label string) (sample, error) { return r.take(ctx, label) }
	var err error
	// Close: the browsers leave; the replies go on upstream (by design).
	r.h.closeAll()
	if res.ClientsGone, err = takeStable(ctx, take, "clients closed"); err != nil {
		return err
	}
	log.Printf("clients closed: goroutines %.0f, fds %d", res.ClientsGone.Goroutines, res.ClientsGone.Proc.FDs)
	// Stop every reply (the Stop button), so nothing is left upstream.
	ok, fails := r.h.cancelAll(ctx, 32)
	if len(fails) > 0 {
		res.CancelFails = fails
	}
	log.Printf("cancelled %d chats (%d failed)", ok, len(r.h.streams)-ok)
	// Our idle keep-alive connections would each hold a server goroutine and an fd.
	r.tr.CloseIdleConnections()
	if res.Stopped, err = takeStable(ctx, take, "replies stopped"); err != nil {
		return err
	}
	log.Printf("replies stopped: goroutines %.0f, fds %d", res.Stopped.Goroutines, res.Stopped.Proc.FDs)
	// coze2app keeps up to 32 idle connections to Coze (2 goroutines + 1 fd
	// each) for 90 s; ending the simulator closes them, leaving what leaked.
	r.sim.Stop(syscall.SIGTERM, 10*time.Second)
	if res.IdleClosed, err = takeStable(ctx, take, "upstream idle closed"); err != nil {
		return err
	}
	if r.c.pprof != "" {
		saveHeapAfter(ctx, r.c, res)
	}
	res.Leak = leak{
		Goroutines: res.IdleClosed.Goroutines - res.Baseline.Goroutines,
		FDs:        res.IdleClosed.Proc.FDs - res.Baseline.Proc.FDs,
		RSSKiB:     res.IdleClosed.Proc.RSSKiB - res.Baseline.Proc.RSSKiB,
	}
	log.Printf("upstream idle closed: goroutines %.0f (baseline %.0f), fds %d (baseline %d)",
		res.IdleClosed.Goroutines, res.Baseline.Goroutines, res.IdleClosed.Proc.FDs, res.Baseline.Proc.FDs)
	return nil
}

func per(base, s sample) *perStream {
	n := float64(s.Streams)
	if n == 0 {
		return &perStream{}
	}
	kib := func(k string) float64 { return benchkit.Round3((s.Mem[k] - base.Mem[k]) / 1024 / n) }
	return &perStream{
		RSSKiB:        benchkit.Round3(float64(s.Proc.RSSKiB-base.Proc.RSSKiB) / n),
		Goroutines:    benchkit.Round3((s.Goroutines - base.Goroutines) / n),
		FDs:           benchkit.Round3(float64(s.Proc.FDs-base.Proc.FDs) / n),
		HeapInuseKiB:  kib("go_memstats_heap_inuse_bytes"),
		StackInuseKiB: kib("go_memstats_stack_inuse_bytes"),
		SysKiB:        kib("go_memstats_sys_bytes"),
	}
}

// takeStable samples once goroutines stop changing (3 equal reads, 1 s
// apart, at most 90 s).
func takeStable(ctx context.Context, take func(string) (sample, error), label string) (sample, error) {
	var last float64 = -1
	same := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		s, err := take(label)
		if err != nil {
			return s, err
		}
		if s.Goroutines == last {
			same++
		} else {
			same = 0
		}
		last = s.Goroutines
		if same >= 2 || time.Now().After(deadline) || ctx.Err() != nil {
			return s, ctx.Err()
		}
		time.Sleep(time.Second)
	}
}

// saveHeap stores the heap profile at this step and, at the largest step,
// the top entries by in-use space (live objects: the profile forces a GC).
func saveHeap(ctx context.Context, c cfg, step int, res *results) {
	path := filepath.Join(c.profileDir, fmt.Sprintf("streams-heap-%d.pb.gz", step))
	if err := benchkit.Download(ctx, "http://"+c.pprof+"/debug/pprof/heap?gc=1", path); err != nil {
		log.Printf("heap profile: %v", err)
		return
	}
	res.HeapTop = benchkit.PprofTop(ctx, c.appBin, path, "-sample_index=inuse_space")
	res.GoroutineTop = benchkit.FetchGoroutineGroups(ctx, c.pprof, "", 12)
}

// saveHeapAfter profiles what stays live once every stream is closed and
// every reply stopped (finished runs kept for resume, caches, pools).
func saveHeapAfter(ctx context.Context, c cfg, res *results) {
	path := filepath.Join(c.profileDir, "streams-heap-after.pb.gz")
	if err := benchkit.Download(ctx, "http://"+c.pprof+"/debug/pprof/heap?gc=1", path); err != nil {
		log.Printf("heap profile: %v", err)
		return
	}
	res.HeapAfterTop = benchkit.PprofTop(ctx, c.appBin, path, "-sample_index=inuse_space")
}
