// Command relay measures what a relay adds to a Coze chat stream: time to
// first delta (TTFD) and per-event latency, directly from the simulator,
// through nginx and through coze2app, at several concurrency levels.
//
// The simulator runs inside this process behind a tap that timestamps every
// delta as it is flushed to the socket, so each event's one-way latency
// (client arrival − simulator flush) is measured exactly for every path; see
// bench/README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
	"github.com/coze2app/coze2app/internal/cozesim"
)

const (
	clientID     = "30000000000000000000000000000003.app.coze"
	clientSecret = "bench_secret_0123456789abcdef0123"
)

// level is one concurrency level: conc workers, each streaming chats back to
// back; the simulator pauses delay between deltas of chunk runes each.
type level struct {
	Conc     int           `json:"concurrency"`
	Delay    time.Duration `json:"-"`
	Chunk    int           `json:"chunk_runes"`
	Duration time.Duration `json:"-"`
}

func parseLevels(spec string) ([]level, error) {
	var out []level
	for _, part := range strings.Split(spec, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 4 {
			return nil, fmt.Errorf("level %q: want conc:delay:chunk:duration", part)
		}
		var l level
		var err error
		if l.Conc, err = strconv.Atoi(f[0]); err != nil {
			return nil, fmt.Errorf("level %q: %w", part, err)
		}
		if l.Delay, err = time.ParseDuration(f[1]); err != nil {
			return nil, fmt.Errorf("level %q: %w", part, err)
		}
		if l.Chunk, err = strconv.Atoi(f[2]); err != nil {
			return nil, fmt.Errorf("level %q: %w", part, err)
		}
		if l.Duration, err = time.ParseDuration(f[3]); err != nil {
			return nil, fmt.Errorf("level %q: %w", part, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// defaultLevels: first the issue's case (issue 11: each browser opens a new
// chat of 20 deltas 5 ms apart, chunk=25 of the 500-rune reply), for 1 and
// 100 streams; then 20 ms deltas and the 1,000-stream level.
const defaultLevels = "1:5ms:25:20s,100:5ms:25:20s,1:20ms:50:30s,100:20ms:20:20s,1000:200ms:20:20s"

func main() {
	appBin := flag.String("app-bin", "/tmp/coze2app", "coze2app binary")
	nginxBin := flag.String("nginx", "/usr/sbin/nginx", "nginx binary")
	levelsSpec := flag.String("levels", defaultLevels, "conc:delay:chunk:duration,...")
	modesSpec := flag.String("modes", "direct,nginx,app", "paths to measure, in this order per level")
	out := flag.String("out", "bench/results/relay.json", "results file")
	pprofAddr := flag.String("pprof", "", "start coze2app with COZE2APP_DEBUG_ADDR (net/http/pprof) here and profile it mid-phase")
	profileDir := flag.String("profile-dir", "", "keep the raw profiles here (default: the run's temp dir, removed at the end)")
	var appEnv benchkit.MultiFlag
	flag.Var(&appEnv, "app-env", "extra KEY=VALUE for coze2app (repeatable), e.g. COZE2APP_DATABASE_URL=...")
	dumpDir := flag.String("dump", "", "write every per-event sample as CSV into this directory")
	nginxWorkers := flag.Int("nginx-workers", 0, "nginx worker_processes (0 = auto = one per CPU)")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)

	levels, err := parseLevels(*levelsSpec)
	if err != nil {
		log.Fatal(err)
	}
	modes := strings.Split(*modesSpec, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, config{appBin: *appBin, nginxBin: *nginxBin, levels: levels, modes: modes, nginxWorkers: *nginxWorkers, dumpDir: *dumpDir, appEnv: appEnv, pprof: *pprofAddr, profileDir: *profileDir})
	benchkit.Report(*out, res, err, printTable)
}

type config struct {
	appBin, nginxBin  string
	levels            []level
	modes             []string
	nginxWorkers      int
	dumpDir           string
	appEnv            []string
	pprof, profileDir string // profileDir "" = the run's temp dir
}

// multiFlag is a repeatable string flag.
// world is what a run measures against: the in-process simulator behind the
// tap, the relays started for the chosen modes, and one target per mode.
type world struct {
	c        config
	dir      string
	sim      *cozesim.Sim
	rec      *recorder
	simAddr  string
	appAddr  string
	minDelay time.Duration
	maxConc  int
	tokens   []string // Coze access tokens of the signed-in users, for direct and nginx
	targets  map[string]*target
	app      *benchkit.Proc // nil unless mode "app"
	nginx    *benchkit.Proc // nil unless mode "nginx"
	message  string         // the chat message of the current level
	closers  []func()
}

// close stops what the run started, last first.
func (w *world) close() {
	for _, f := range slices.Backward(w.closers) {
		f()
	}
}

func run(ctx context.Context, c config) (*results, error) {
	dir, err := os.MkdirTemp("", "coze2app-bench-relay-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if c.profileDir == "" {
		c.profileDir = dir
	}
	w := &world{c: c, dir: dir, targets: map[string]*target{}}
	defer w.close()
	if err := w.startSimulator(); err != nil {
		return nil, err
	}
	for _, m := range c.modes {
		if err := w.startTarget(ctx, m); err != nil {
			return nil, err
		}
	}
	res := &results{Machine: benchkit.DescribeMachine(), Bot: cozesim.BotAssistant, Modes: c.modes, AppEnv: c.appEnv, Method: method}
	for _, l := range c.levels {
		lr, err := w.runLevel(ctx, l)
		if err != nil {
			return nil, err
		}
		res.Levels = append(res.Levels, lr)
	}
	if w.app != nil {
		if b, err := os.ReadFile(w.app.LogPath); err == nil {
			res.AppLogTail = tailLines(string(b), 20)
		}
	}
	return res, nil
}

// startSimulator serves the simulator in process, behind the tap, with the
// smallest delta delay of all levels (slower levels add a fault), and issues
// Coze tokens for the first three users.
func (w *world) startSimulator() error {
	w.appAddr, _ = benchkit.FreeAddr()
	w.simAddr, _ = benchkit.FreeAddr()
	w.minDelay = w.c.levels[0].Delay
	for _, l := range w.c.levels {
		w.minDelay = min(w.minDelay, l.Delay)
		w.maxConc = max(w.maxConc, l.Conc)
	}
	w.rec = newRecorder()
	w.sim = cozesim.New(cozesim.Options{
		PublicBase: "http://" + w.simAddr,
		Apps: []cozesim.App{{Name: "coze2app bench", ClientID: clientID, ClientSecret: clientSecret,
			RedirectURIs: []string{"http://" + w.appAddr + "/callback"}}},
		DeltaDelay: w.minDelay,
		ChatDelay:  time.Second,
	})
	w.closers = append(w.closers, func() { w.sim.Close() })
	ln, err := net.Listen("tcp", w.simAddr)
	if err != nil {
		return fmt.Errorf("listen for the simulator: %w", err)
	}
	simSrv := &http.Server{Handler: &tap{next: w.sim, rec: w.rec}, ReadHeaderTimeout: 10 * time.Second}
	go simSrv.Serve(ln)
	w.closers = append(w.closers, func() { simSrv.Close() })
	for _, u := range w.users() {
		access, _ := w.sim.IssueToken(u.ID)
		w.tokens = append(w.tokens, access)
	}
	return nil
}

// users are the simulator users the benchmark signs in (at most three).
func (w *world) users() []cozesim.User {
	users := w.sim.Users()
	return users[:min(len(users), 3)]
}

// startTarget starts what mode m needs and adds its target.
func (w *world) startTarget(ctx context.Context, m string) error {
	switch m {
	case "direct":
		w.targets[m] = w.cozeTarget(m, "http://"+w.simAddr)
	case "nginx":
		nginxAddr, _ := benchkit.FreeAddr()
		p, err := benchkit.StartNginx(ctx, benchkit.NginxConfig{Bin: w.c.nginxBin, Dir: filepath.Join(w.dir, "nginx"),
			Listen: nginxAddr, Upstream: w.simAddr, Workers: w.c.nginxWorkers})
		if err != nil {
			return fmt.Errorf("start nginx: %w", err)
		}
		w.nginx = p
		w.closers = append(w.closers, func() { p.Stop(syscall.SIGQUIT, 10*time.Second) })
		w.targets[m] = w.cozeTarget(m, "http://"+nginxAddr)
	case "app":
		return w.startApp(ctx)
	default:
		return fmt.Errorf("unknown mode %q", m)
	}
	return nil
}

// cozeTarget calls POST /v3/chat at base with a Coze access token, as
// coze2app would.
func (w *world) cozeTarget(name, base string) *target {
	hc := &http.Client{Transport: benchkit.NewTransport(w.maxConc)}
	return &target{name: name, proto: benchkit.Coze,
		client: func(int) *http.Client { return hc },
		newRequest: func(ctx context.Context, worker int) (*http.Request, error) {
			body := map[string]any{
				"bot_id": cozesim.BotAssistant, "user_id": "bench-" + strconv.Itoa(worker%3), "stream": true,
				"additional_messages": []map[string]string{{"role": "user", "content": w.message, "content_type": "text"}},
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/chat", chatBody(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.tokens[worker%len(w.tokens)])
			return req, nil
		}}
}

// startApp starts coze2app against the simulator, signs the users in and
// adds the target that calls POST /api/chat as the page does.
func (w *world) startApp(ctx context.Context) error {
	env := w.c.appEnv
	if w.c.pprof != "" {
		env = append(env, "COZE2APP_DEBUG_ADDR="+w.c.pprof)
	}
	p, err := benchkit.StartApp(ctx, benchkit.AppConfig{Bin: w.c.appBin, Dir: w.dir, Addr: w.appAddr,
		SimBase: "http://" + w.simAddr, ClientID: clientID, ClientSecret: clientSecret, Env: env})
	if err != nil {
		return fmt.Errorf("start coze2app: %w", err)
	}
	w.app = p
	w.closers = append(w.closers, func() { p.Stop(syscall.SIGTERM, 25*time.Second) })
	base := "http://" + w.appAddr
	tr := benchkit.NewTransport(w.maxConc)
	var browsers []*http.Client
	for i := range len(w.users()) {
		b := benchkit.NewBrowser(tr)
		if err := benchkit.SignIn(ctx, b, base, i); err != nil {
			return fmt.Errorf("sign in user %d: %w", i, err)
		}
		browsers = append(browsers, b)
	}
	w.targets["app"] = &target{name: "app", proto: benchkit.App,
		client: func(worker int) *http.Client { return browsers[worker%len(browsers)] },
		newRequest: func(ctx context.Context, worker int) (*http.Request, error) {
			body := map[string]any{"bot_id": cozesim.BotAssistant, "message": w.message, "stream": true}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/chat", chatBody(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Accept", "text/event-stream")
			return req, nil
		}}
	return nil
}

// runLevel measures every mode, one after the other, at level l.
func (w *world) runLevel(ctx context.Context, l level) (levelResult, error) {
	w.message = fmt.Sprintf("bench chunk=%d", l.Chunk)
	w.sim.ClearFaults()
	if l.Delay > w.minDelay {
		w.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", DeltaDelay: l.Delay})
	}
	lr := levelResult{Concurrency: l.Conc, Delay: l.Delay.String(), Chunk: l.Chunk, Message: w.message,
		Phases: map[string]*phaseResult{}}
	for _, m := range w.c.modes {
		if ctx.Err() != nil {
			return lr, ctx.Err()
		}
		pr, err := w.runPhase(ctx, l, m)
		if err != nil {
			return lr, err
		}
		lr.Phases[m] = pr
		time.Sleep(time.Second)
	}
	lr.Overhead = overheads(lr.Phases)
	if a, n := lr.Phases["app"], lr.Phases["nginx"]; a != nil && n != nil && n.CPUMSPerReply > 0 {
		lr.CPUPerReplyVsNginx = benchkit.Round3(a.CPUMSPerReply / n.CPUMSPerReply)
	}
	return lr, nil
}

// runPhase streams through mode m for the level's duration and matches what
// the clients parsed with what the tap saw flushed.
func (w *world) runPhase(ctx context.Context, l level, m string) (*phaseResult, error) {
	stagger := time.Duration(0)
	if l.Conc > 1 {
		stagger = time.Second
	}
	warmup := stagger + time.Second
	w.rec.reset()
	log.Printf("level %d, %s: %s measured after %s warm-up", l.Conc, m, l.Duration, warmup)
	load := benchkit.LoadAvg()
	cpu := sampleCPU(w.app, w.nginx)
	begin := time.Now()
	var prof chan profile
	if m == "app" && w.c.pprof != "" {
		prof = make(chan profile, 1)
		go func() { prof <- takeProfile(ctx, w.c, l, warmup) }()
	}
	streams, window := phase(ctx, w.targets[m], l.Conc, stagger, warmup, l.Duration)
	wall := time.Since(begin)
	cpuAfter := sampleCPU(w.app, w.nginx)
	time.Sleep(300 * time.Millisecond) // let the last simulator handlers record
	dump, closeDump, err := w.openDump(l, m)
	if err != nil {
		return nil, err
	}
	pr := match(streams, w.rec, dump)
	if err := closeDump(); err != nil {
		return nil, err
	}
	pr.Mode, pr.WindowS, pr.LoadAvg = m, benchkit.Round3(window.Seconds()), load
	pr.CPUSeconds = map[string]float64{}
	for k, v := range cpuAfter {
		pr.CPUSeconds[k] = benchkit.Round3(v - cpu[k])
	}
	pr.WallS = benchkit.Round3(wall.Seconds())
	if pr.Streams > 0 {
		pr.CPUMSPerReply = benchkit.Round3(pr.relayCPU() * 1000 / float64(pr.Streams))
	}
	if prof != nil {
		p := <-prof
		pr.Profile = &p
	}
	log.Printf("  streams %d errors %d  TTFD p50 %.3f p99 %.3f ms  event p50 %.3f p99 %.3f ms",
		pr.Streams, pr.Errors, pr.TTFD.P50, pr.TTFD.P99, pr.Event.P50, pr.Event.P99)
	if m == "app" && w.app.Exited() {
		return nil, fmt.Errorf("coze2app exited during the run; see its log")
	}
	return pr, nil
}

// openDump opens the per-event CSV of a phase when -dump is set; nil otherwise.
func (w *world) openDump(l level, m string) (io.Writer, func() error, error) {
	if w.c.dumpDir == "" {
		return nil, func() error { return nil }, nil
	}
	f, err := os.Create(filepath.Join(w.c.dumpDir, fmt.Sprintf("events-%d-%s.csv", l.Conc, m)))
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriter(f)
	return bw, func() error { return errors.Join(bw.Flush(), f.Close()) }, nil
}

// profile is where coze2app's goroutines wait and what its CPU does in the
// middle of a phase.
type profile struct {
	Goroutines []string `json:"goroutine_groups"`
	CPUTop     []string `json:"cpu_top"`
}

func takeProfile(ctx context.Context, c config, l level, warmup time.Duration) profile {
	var p profile
	mid := warmup + l.Duration/2 - 3*time.Second
	select {
	case <-time.After(max(mid, warmup)):
	case <-ctx.Done():
		return p
	}
	p.Goroutines = benchkit.FetchGoroutineGroups(ctx, c.pprof,
		filepath.Join(c.profileDir, fmt.Sprintf("relay-app-%d-goroutines.txt", l.Conc)), 15)
	path := filepath.Join(c.profileDir, fmt.Sprintf("relay-app-%d-cpu.pb.gz", l.Conc))
	if err := benchkit.Download(ctx, "http://"+c.pprof+"/debug/pprof/profile?seconds=5", path); err != nil {
		p.CPUTop = []string{err.Error()}
		return p
	}
	p.CPUTop = benchkit.PprofTop(ctx, c.appBin, path, "-cum")
	// Allocations over the next 5 s of the same phase (a delta profile), for
	// reading beside the CPU profile: the garbage collector's share follows them.
	allocs := filepath.Join(c.profileDir, fmt.Sprintf("relay-app-%d-allocs.pb.gz", l.Conc))
	if err := benchkit.Download(ctx, "http://"+c.pprof+"/debug/pprof/allocs?seconds=5", allocs); err != nil {
		p.CPUTop = append(p.CPUTop, "allocs: "+err.Error())
	}
	return p
}

func sampleCPU(app, nginx *benchkit.Proc) map[string]float64 {
	m := map[string]float64{"bench_sim_and_client": benchkit.SelfCPUSeconds()}
	if app != nil && !app.Exited() {
		m["coze2app"], _ = benchkit.CPUSeconds(app.PID())
	}
	if nginx != nil && !nginx.Exited() {
		m["nginx"] = benchkit.TreeCPUSeconds(nginx.PID())
	}
	return m
}

func tailLines(s string, n int) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return slices.Clip(lines)
}
