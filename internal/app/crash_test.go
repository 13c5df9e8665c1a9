package app

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Catalog case 59 (100 concurrent streams under -race) and case 38 (the
// refresh-lock holder is SIGKILLed; two real processes on one PostgreSQL),
// with case 35's cross-instance sign-in on the same pair of processes.

// TestMain removes the binary built for the process tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// raceEnabled reports whether this test binary was built with -race; the
// app binary is then built the same way (its packages are already in the
// build cache, and races in the child show up in its log).
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// mustBinary builds cmd/coze2app once per test run.
func mustBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "coze2app-crash-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "coze2app")
		goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goCmd); err != nil {
			goCmd = "go"
		}
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			args = append(args, "-race")
		}
		args = append(args, "github.com/coze2app/coze2app/cmd/coze2app")
		out, err := exec.Command(goCmd, args...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// listeningURL is the main listener's URL in a process's log.
var listeningURL = regexp.MustCompile(`msg=listening url=(\S+)`)

// proc is one coze2app process.
type proc struct {
	URL  string
	cmd  *exec.Cmd
	log  *lineWriter
	done chan struct{}
	err  error
}

// mustStartProc runs the binary with env (plus PATH/HOME) and waits until it
// listens. Cleanup sends SIGTERM, then SIGKILL after 20 s.
func mustStartProc(t *testing.T, bin string, env map[string]string) *proc {
	t.Helper()
	p := &proc{log: announcing(listeningURL), done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GORACE=halt_on_error=0"}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.log.String(), "WARNING: DATA RACE") {
			t.Errorf("data race in child process:\n%s", p.log)
		}
	})
	p.URL = awaitURL(t, p.log, p.done, 60*time.Second)
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	<-p.done
}

// withDBAppName tags a PostgreSQL URL so its backends can be found in
// pg_stat_activity and pg_locks.
func withDBAppName(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// advisoryLocks counts advisory locks (granted or not) held by backends
// whose application_name starts with prefix.
func advisoryLocks(t *testing.T, db *sql.DB, prefix string) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(t.Context(), `
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND starts_with(a.application_name, $1)`, prefix).Scan(&n)
	if err != nil {
		t.Fatalf("pg_locks: %v", err)
	}
	return n
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

type apiErr struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// The requests use GET /api/bots/{id}: it calls Coze every time (the
// workspace and bot lists are cached per process).
//
// Case 38 ([2x][pg]) and the cross-instance sign-in of case 35: two
// processes on one PostgreSQL schema and one simulator. A is SIGKILLed while
// it holds the user's refresh lock with the refresh request at Coze; B must
// get the lock within a bounded time and answer 200 (fresh tokens) or a
// clean 401 reauth_required; no advisory lock is left behind.
func TestCase38_LockHolderCrashes(t *testing.T) {
	base := storetest.PostgresURL(t) // skips (or fails under CI=true) before the build
	bin := mustBinary(t)
	tag := "c38_" + strings.ToLower(rand.Text()[:8])
	addrA, addrB := freeAddr(t), freeAddr(t)
	sim, simSrv := externalSim(t, "http://"+addrA+"/callback", cozesim.Options{})

	envA := realModeEnv(simSrv.URL, addrA, withDBAppName(t, base, tag+"_a"))
	envB := realModeEnv(simSrv.URL, addrB, withDBAppName(t, base, tag+"_b"))
	envB["COZE_REDIRECT_URI"] = envA["COZE_REDIRECT_URI"] // one public callback, as behind a load balancer
	a := mustStartProc(t, bin, envA)
	b := mustStartProc(t, bin, envB)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })

	// Case 35: /auth on A, /callback on B (the session and the pending
	// sign-in live in the database). One jar serves both: cookies are not
	// scoped by port, like one origin behind a load balancer.
	c := newBrowser(t)
	const cozeUser = "7391000000000000101"
	cb := mustConsent(t, c, mustRedirect(t, c, "GET", a.URL+"/auth", nil), cozeUser)
	if !strings.HasPrefix(cb, a.URL+"/callback?") {
		t.Fatalf("callback %q is not A's", cb)
	}
	if home := mustRedirect(t, c, "GET", strings.Replace(cb, a.URL, b.URL, 1), nil); home != "/" {
		t.Fatalf("callback on B redirected to %q, want /", home)
	}
	for name, p := range map[string]*proc{"A": a, "B": b} {
		var st status
		getJSON(t, c, p.URL+"/api/auth/status", &st)
		if !st.Authenticated {
			t.Fatalf("case 35: not signed in on %s after /auth on A and /callback on B", name)
		}
	}
	if code := getJSON(t, c, a.URL+"/api/bots/"+cozesim.BotAssistant, nil); code != 200 {
		t.Fatalf("bot on A = %d before the crash", code)
	}

	// Case 38: A starts a refresh and holds the lock while Coze is slow.
	sim.ExpireAccessTokens(cozeUser)
	sim.AddFault(cozesim.Fault{Endpoint: "POST /api/permission/oauth2/token", Latency: 5 * time.Second})
	refreshes := sim.Calls("token:refresh_token")
	aGone := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", a.URL+"/api/bots/"+cozesim.BotAssistant, nil)
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
			err = fmt.Errorf("A answered %d", res.StatusCode)
		}
		aGone <- err
	}()
	if !waitFor(30*time.Second, func() bool { return sim.Calls("token:refresh_token") > refreshes }) {
		t.Fatalf("A's refresh never reached the simulator\n%s", a.log)
	}
	if n := advisoryLocks(t, admin, tag+"_a"); n != 1 {
		t.Errorf("advisory locks held by A while refreshing = %d, want 1", n)
	}
	a.kill(t)
	if err := <-aGone; err == nil || strings.HasPrefix(err.Error(), "A answered") {
		t.Errorf("request to A = %v, want a dropped connection", err)
	}
	sim.ClearFaults()

	// B: the lock must come free when A's connection dies.
	t0 := time.Now()
	req, _ := http.NewRequest("GET", b.URL+"/api/bots/"+cozesim.BotAssistant, nil)
	res, err := c.Do(req) // the browser's Timeout (30 s) is the hang detector
	if err != nil {
		t.Fatalf("request to B after A's crash: %v (hang or deadlock?)\n%s", err, b.log)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	waited := time.Since(t0)
	var ae apiErr
	_ = json.Unmarshal(body, &ae)
	switch {
	case res.StatusCode == 200:
	case res.StatusCode == 401 && ae.Error.Code == "reauth_required":
	default:
		t.Errorf("B after A's crash = %d %s, want 200 or 401 reauth_required\n%s", res.StatusCode, body, b.log)
	}
	if !waitFor(10*time.Second, func() bool { return advisoryLocks(t, admin, tag) == 0 }) {
		t.Errorf("advisory locks still held by our backends: %d", advisoryLocks(t, admin, tag))
	}
	var aConns int
	if err := admin.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, tag+"_a").Scan(&aConns); err != nil {
		t.Fatal(err)
	}
	if aConns != 0 {
		t.Errorf("backends of the killed A still in pg_stat_activity: %d", aConns)
	}
	t.Logf("case 38: B answered %d after %v; refresh calls at Coze: %d (A's, cut by SIGKILL, + B's); advisory locks left: 0",
		res.StatusCode, waited.Round(time.Millisecond), sim.Calls("token:refresh_token")-refreshes)
}

// streamResult is what one browser saw on one chat stream.
type streamResult struct {
	err     error
	deltas  map[string]*strings.Builder // message id -> concatenated answer deltas
	events  int
	lastEvt string
}

// readChatStream posts one streamed chat and reads the SSE to the end,
// checking that ids increase by one.
func readChatStream(c *http.Client, appURL, msg string) streamResult {
	r := streamResult{deltas: map[string]*strings.Builder{}}
	res, err := postSameOrigin(c, appURL+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": msg, "stream": true})
	if err != nil {
		r.err = err
		return r
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		body, _ := io.ReadAll(res.Body)
		r.err = fmt.Errorf("status %d: %s", res.StatusCode, body)
		return r
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event, data string
	lastID := 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			var id int
			fmt.Sscan(strings.TrimPrefix(line, "id: "), &id)
			if id != lastID+1 && r.err == nil {
				r.err = fmt.Errorf("event id %d after %d", id, lastID)
			}
			lastID = id
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && event != "":
			r.events++
			r.lastEvt = event
			// Our stream events (docs/stream-contract.md).
			var m struct {
				MessageID string `json:"message_id"`
				Text      string `json:"text"`
				Status    string `json:"status"`
			}
			_ = json.Unmarshal([]byte(data), &m)
			switch event {
			case "end":
				if m.Status != "completed" && r.err == nil {
					r.err = fmt.Errorf("event %s: %s", event, data)
				}
			case "delta":
				if r.deltas[m.MessageID] == nil {
					r.deltas[m.MessageID] = &strings.Builder{}
				}
				r.deltas[m.MessageID].WriteString(m.Text)
			}
			event, data = "", ""
		}
	}
	if err := sc.Err(); err != nil && r.err == nil {
		r.err = err
	}
	return r
}

// Case 59: 100 concurrent chat streams through the real app (in this
// process, so -race covers it) against a simulator with no delta delay.
// Must: 0 errors, each stream's deltas concatenate to its completed answer
// (order kept), and goroutines return to the baseline afterwards.
func TestCase59_HundredStreams(t *testing.T) {
	const streams = 100
	_, simSrv, env := realMode(t, storetest.SQLiteURL(t), cozesim.Options{})
	// One user runs every stream here: lift the per-user share (case 73).
	env["COZE2APP_MAX_REPLIES_PER_USER"] = "1000"
	env["COZE2APP_CHATS_PER_MINUTE"] = "100000"
	app := mustStart(t, env)
	c := newBrowser(t)
	c.Timeout = 60 * time.Second
	signIn(t, c, app.URL, "7391000000000000102")

	settle := func() {
		c.CloseIdleConnections()
		simSrv.CloseClientConnections()
	}
	// One stream first, so lazily started goroutines exist in the baseline.
	if r := readChatStream(c, app.URL, "warm up"); r.err != nil {
		t.Fatalf("warm-up stream: %v", r.err)
	}
	settle()
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	results := make([]streamResult, streams)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range streams {
		wg.Go(func() {
			<-start
			results[i] = readChatStream(c, app.URL, fmt.Sprintf("stream %d: tell me about item %d", i, i))
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(t0)

	errs, deltas := 0, 0
	for i, r := range results {
		if r.err != nil {
			errs++
			t.Errorf("stream %d: %v", i, r.err)
			continue
		}
		if r.lastEvt != "end" || len(r.deltas) == 0 {
			errs++
			t.Errorf("stream %d ended with %q and %d answers, want end and ≥ 1", i, r.lastEvt, len(r.deltas))
		}
		for _, d := range r.deltas {
			deltas += d.Len()
		}
	}
	settle()
	var now int
	if !waitFor(10*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= baseline+2 }) {
		var buf bytes.Buffer
		_ = pprofGoroutines(&buf)
		t.Errorf("goroutines after the streams = %d, baseline %d\n%s", now, baseline, buf.String())
	}
	t.Logf("case 59: %d streams in %v, errors %d, answer bytes %d; goroutines baseline %d, after %d", streams, took.Round(time.Millisecond), errs, deltas, baseline, now)
}

// pprofGoroutines writes every goroutine's stack (for a leak report).
func pprofGoroutines(w io.Writer) error {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	_, err := w.Write(buf[:n])
	return err
}
