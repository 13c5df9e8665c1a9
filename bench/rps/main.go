// Command rps measures requests per second for two cheap, frequent routes of
// a signed-in user: GET /api/auth/status and GET /api/bots served from the
// per-user cache (every call after the first within the cache TTL).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/coze2app/coze2app/bench/internal/benchkit"
	"github.com/coze2app/coze2app/internal/cozesim"
)

const (
	clientID     = "50000000000000000000000000000005.app.coze"
	clientSecret = "bench_secret_rps_0123456789abcdef01"
)

type result struct {
	Route         string           `json:"route"`
	Tool          string           `json:"tool"`
	Conns         int              `json:"connections"`
	Seconds       float64          `json:"seconds"`
	Requests      int              `json:"requests"`
	RPS           float64          `json:"rps"`
	Errors        int              `json:"errors"`
	Statuses      map[string]int   `json:"statuses,omitempty"`
	Latency       benchkit.Summary `json:"latency"`
	AppCPU        float64          `json:"app_cpu_seconds"`
	ClientCPU     float64          `json:"client_cpu_seconds,omitempty"`
	UpstreamCalls int              `json:"upstream_bot_list_calls"`
	// PerAppCPUSecond is requests served per CPU-second coze2app used: a
	// figure less sensitive to how much of the shared machine the app got.
	PerAppCPUSecond float64 `json:"requests_per_app_cpu_second"`
	Note            string  `json:"note,omitempty"`
}

type results struct {
	Machine benchkit.Machine `json:"machine"`
	Results []result         `json:"results"`
	// FirstBotsMS is the uncached first GET /api/bots (goes to Coze).
	FirstBotsMS float64  `json:"first_bots_ms"`
	AppLogTail  []string `json:"app_log_tail,omitempty"`
}

func main() {
	appBin := flag.String("app-bin", "/tmp/coze2app", "coze2app binary")
	dur := flag.Duration("duration", 10*time.Second, "measured time per route and tool")
	warm := flag.Duration("warmup", time.Second, "unmeasured lead-in")
	conns := flag.Int("conns", 50, "connections")
	wrkBin := flag.String("wrk", "auto", `wrk binary ("auto": use it if installed, "" off)`)
	out := flag.String("out", "bench/results/rps.json", "results file")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	if *wrkBin == "auto" {
		*wrkBin, _ = exec.LookPath("wrk")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, *appBin, *wrkBin, *dur, *warm, *conns)
	benchkit.Report(*out, res, err, printTable)
}

func run(ctx context.Context, appBin, wrkBin string, dur, warm time.Duration, conns int) (*results, error) {
	dir, err := os.MkdirTemp("", "coze2app-bench-rps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	appAddr, _ := benchkit.FreeAddr()
	simAddr, _ := benchkit.FreeAddr()
	ac := benchkit.AppConfig{Bin: appBin, Dir: dir, Addr: appAddr, SimBase: "http://" + simAddr,
		ClientID: clientID, ClientSecret: clientSecret}
	// The simulator runs in this process so we can count its bot-list calls.
	sim := cozesim.New(cozesim.Options{PublicBase: "http://" + simAddr,
		Apps: []cozesim.App{{Name: "coze2app bench", ClientID: clientID, ClientSecret: clientSecret,
			RedirectURIs: []string{ac.RedirectURI()}}}})
	defer sim.Close()
	ln, err := net.Listen("tcp", simAddr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	app, err := benchkit.StartApp(ctx, ac)
	if err != nil {
		return nil, fmt.Errorf("start coze2app: %w", err)
	}
	defer app.Stop(syscall.SIGTERM, 25*time.Second)
	base := "http://" + appAddr
	b := benchkit.NewBrowser(benchkit.NewTransport(4))
	if err := benchkit.SignIn(ctx, b, base, 0); err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	u, _ := url.Parse(base)
	var cookie []string
	for _, c := range b.Jar.Cookies(u) {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	cookieHeader := strings.Join(cookie, "; ")
	res := &results{Machine: benchkit.DescribeMachine()}
	defer func() {
		if bs, err := os.ReadFile(app.LogPath); err == nil {
			lines := strings.Split(strings.TrimSpace(string(bs)), "\n")
			res.AppLogTail = lines[max(0, len(lines)-20):]
		}
	}()

	botCalls := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if strings.Contains(r.Path, "bots") {
				n++
			}
		}
		return n
	}
	routes := []struct{ name, path string }{
		{"GET /api/auth/status", "/api/auth/status"},
		{"GET /api/bots (cached)", "/api/bots"},
	}
	for _, rt := range routes {
		if rt.path == "/api/bots" {
			// Fill the cache; this one goes to Coze. The cache TTL (30 s)
			// outlasts both runs below (go, then wrk), so the rest are hits;
			// upstream_bot_list_calls shows any refill.
			t0 := time.Now()
			st, body, err := benchkit.GetJSONBody(ctx, b, base+rt.path)
			res.FirstBotsMS = benchkit.Round3(float64(time.Since(t0).Microseconds()) / 1000)
			if err != nil || st != http.StatusOK || !strings.Contains(body, `"bots"`) {
				return res, fmt.Errorf("first GET /api/bots: status %d err %v: %.200s", st, err, body)
			}
		}
		before := botCalls()
		r := goLoad(ctx, app.PID(), base+rt.path, cookieHeader, conns, warm, dur)
		r.Route, r.UpstreamCalls = rt.name, botCalls()-before
		r.PerAppCPUSecond = perCPU(r)
		res.Results = append(res.Results, r)
		log.Printf("%s go: %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d", rt.name, r.RPS, r.Latency.P50, r.Latency.P99, r.Errors)
		if wrkBin != "" {
			before := botCalls()
			r, err := wrkLoad(ctx, wrkBin, app.PID(), base+rt.path, cookieHeader, conns, dur)
			if err != nil {
				return res, err
			}
			r.Route, r.UpstreamCalls = rt.name, botCalls()-before
			r.PerAppCPUSecond = perCPU(r)
			res.Results = append(res.Results, r)
			log.Printf("%s wrk: %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d", rt.name, r.RPS, r.Latency.P50, r.Latency.P99, r.Errors)
		}
	}
	return res, nil
}

// goLoad runs conns keep-alive connections in closed loop for warm+dur and
// measures the dur part.
func goLoad(ctx context.Context, pid int, u, cookie string, conns int, warm, dur time.Duration) result {
	tr := benchkit.NewTransport(conns)
	tr.MaxConnsPerHost = conns
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	start := time.Now()
	from, until := start.Add(warm), start.Add(warm+dur)
	var mu sync.Mutex
	var lat []float64
	statuses := map[string]int{}
	errs := 0
	var cpu0, ccpu0 float64
	var once sync.Once
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var mine []float64
			myStatus := map[string]int{}
			myErr := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(until) {
					break
				}
				if t0.After(from) {
					once.Do(func() { cpu0, _ = benchkit.CPUSeconds(pid); ccpu0 = benchkit.SelfCPUSeconds() })
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				req.Header.Set("Cookie", cookie)
				resp, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if t0.Before(from) {
					continue
				}
				switch {
				case err != nil:
					myErr++
				case resp.StatusCode != http.StatusOK:
					myStatus[strconv.Itoa(resp.StatusCode)]++
					myErr++
				default:
					mine = append(mine, float64(time.Since(t0).Nanoseconds())/1e6)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range myStatus {
				statuses[k] += v
			}
			errs += myErr
			mu.Unlock()
		})
	}
	wg.Wait()
	cpu1, _ := benchkit.CPUSeconds(pid)
	elapsed := time.Since(from).Seconds()
	r := result{Tool: "go", Conns: conns, Seconds: benchkit.Round3(elapsed), Errors: errs,
		AppCPU: benchkit.Round3(cpu1 - cpu0), ClientCPU: benchkit.Round3(benchkit.SelfCPUSeconds() - ccpu0)}
	r.Requests = len(lat) + errs
	r.RPS = benchkit.Round3(float64(len(lat)) / elapsed)
	if len(statuses) > 0 {
		r.Statuses = statuses
	}
	r.Latency = benchkit.Summarize(lat)
	return r
}

var (
	reWrkRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reWrkReqs = regexp.MustCompile(`(\d+) requests in ([\d.]+)(\w+)`)
	reWrkPct  = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	reWrkNon2 = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reWrkSock = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// wrkLoad runs wrk with 2 threads (one per core) and parses its report.
func wrkLoad(ctx context.Context, bin string, pid int, u, cookie string, conns int, dur time.Duration) (result, error) {
	cpu0, _ := benchkit.CPUSeconds(pid)
	out, err := exec.CommandContext(ctx, bin, "-t2", "-c"+strconv.Itoa(conns), "-d"+dur.String(), "--latency",
		"-H", "Cookie: "+cookie, u).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	cpu1, _ := benchkit.CPUSeconds(pid)
	r := result{Tool: "wrk", Conns: conns, Seconds: dur.Seconds(), AppCPU: benchkit.Round3(cpu1 - cpu0)}
	if m := reWrkRPS.FindSubmatch(out); m != nil {
		r.RPS, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := reWrkReqs.FindSubmatch(out); m != nil {
		r.Requests, _ = strconv.Atoi(string(m[1]))
	}
	for _, m := range reWrkPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		switch string(m[3]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		switch string(m[1]) {
		case "50":
			r.Latency.P50 = v
		case "90":
			r.Latency.P90 = v
		case "99":
			r.Latency.P99 = v
		}
	}
	r.Latency.N = r.Requests
	if m := reWrkNon2.FindSubmatch(out); m != nil {
		r.Errors, _ = strconv.Atoi(string(m[1]))
	}
	if m := reWrkSock.FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.Errors += n
		}
	}
	r.Note = "wrk -t2: latency percentiles from wrk --latency"
	return r, nil
}

func perCPU(r result) float64 {
	if r.AppCPU <= 0 {
		return 0
	}
	return benchkit.Round3(r.RPS * r.Seconds / r.AppCPU)
}

func printTable(w io.Writer, res *results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\ttool\tconns\treq/s\tp50 ms\tp99 ms\terrors\tapp CPU s\treq/app CPU-s\tupstream calls\t")
	for _, r := range res.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.3f\t%.3f\t%d\t%.1f\t%.0f\t%d\t\n", r.Route, r.Tool, r.Conns, r.RPS,
			r.Latency.P50, r.Latency.P99, r.Errors, r.AppCPU, r.PerAppCPUSecond, r.UpstreamCalls)
	}
	tw.Flush()
	fmt.Fprintf(w, "first (uncached) GET /api/bots: %.3f ms\n", res.FirstBotsMS)
}
