package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/app"
)

// chromiumPath is Debian's Chromium, installed by .ci/run.
const chromiumPath = "/usr/bin/chromium"

// logBuffer collects the app's log, shown when a test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *logBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// mustStartApp starts coze2app in demo mode on 127.0.0.1:0 through app.Start
// and returns its base URL; extra adds or overrides environment variables.
// The app stops (graceful shutdown) when the test ends.
func mustStartApp(t *testing.T, extra map[string]string) string {
	t.Helper()
	url, stop := startApp(t, extra)
	t.Cleanup(stop)
	return url
}

// startApp is mustStartApp with the stop in the caller's hands (a restart);
// stop may be called more than once.
func startApp(t *testing.T, extra map[string]string) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"COZE2APP_ADDR":            "127.0.0.1:0",
		"COZE2APP_DATABASE_URL":    "sqlite:" + filepath.Join(dir, "coze2app.db"),
		"COZE2APP_SIM_DELTA_DELAY": "15ms",
	}
	for k, v := range extra {
		env[k] = v
	}
	log := &logBuffer{}
	srv, err := app.Start(context.Background(), nil, func(k string) string { return env[k] }, log)
	if err != nil {
		t.Fatalf("app did not start: %v\n%s", err, log)
	}
	var once sync.Once
	return srv.URL, func() {
		once.Do(func() {
			go srv.Close()
			select {
			case <-srv.Done():
				if err := srv.Wait(); err != nil {
					t.Errorf("app stopped with: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("app did not stop within 30s")
			}
			if t.Failed() {
				t.Logf("app log:\n%s", log)
			}
		})
	}
}

// browser is one Chromium tab plus what it printed to the console.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	log     []chromedp.ConsoleMessage
	dialogs []string // JavaScript dialogs that opened (and were dismissed)
}

// watchDialogs dismisses every alert/confirm/prompt and records it: a hostile
// answer that opens one has run code (catalog case 69: "no dialog").
func (b *browser) watchDialogs() {
	events := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Type.String()+": "+ev.Message)
			b.mu.Unlock()
			go chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
}

// openedDialogs returns the dialogs seen so far.
func (b *browser) openedDialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// mustStartBrowser starts headless Chromium (fails under CI=true when it is
// missing, else skips loudly).
func mustStartBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI=true: %v", err)
		}
		t.Skipf("SKIPPING BROWSER TESTS: %s not found (apt-get install chromium)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	b.watchDialogs()
	b.must(chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)), "start tab")
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.log = append(b.log, m)
			b.mu.Unlock()
		}
	}()
	// Record CSP violations as the page sees them, on every document.
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	b.must(err, "install CSP listener")
	return b
}

func (b *browser) must(err error, what string) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("%s: %v\nconsole:\n%s", what, err, b.consoleText())
	}
}

// do runs actions with a bound so that a broken page fails instead of hanging.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	b.must(chromedp.Do(ctx, actions...), what)
}

// eval evaluates a JavaScript expression (promises are awaited) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	b.must(err, "eval "+expr)
	return v
}

// waitFor polls a JavaScript expression until it is truthy and returns its value.
func waitFor[T any](b *browser, what, expr string, timeout time.Duration) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(25*time.Millisecond)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v\nconsole:\n%s", what, expr, err, b.consoleText())
	}
	return v
}

// click waits for a visible element and clicks it.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// setInput sets a field's value and fires input/change like typing does.
func (b *browser) setInput(sel, value string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); })()`, sel, value))
}

// viewport sets the emulated screen size (mobile below 500 px wide).
func (b *browser) viewport(w, h int64) {
	b.t.Helper()
	b.do("viewport", chromedp.EmulateViewport(w, h, func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
		p.Mobile = w < 500
	}))
}

// screenshot saves a PNG of the viewport into dir.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	b.must(err, "screenshot "+name)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatalf("write %s: %v", p, err)
	}
	b.t.Logf("screenshot: %s", p)
}

// cspViolations returns the console lines that report a Content Security Policy violation.
func (b *browser) cspViolations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.log {
		if strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m.Text)
		}
	}
	return out
}

// consoleHas reports whether any console message so far contains s.
func (b *browser) consoleHas(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.log {
		if strings.Contains(m.Text, s) {
			return true
		}
	}
	return false
}

// consoleText is the whole console so far, for failure messages.
func (b *browser) consoleText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, m := range b.log {
		fmt.Fprintf(&sb, "  [%s] %s (%s:%d)\n", m.Type, m.Text, m.URL, m.Line+1)
	}
	return sb.String()
}

// artifactsDir is $COZE2APP_ARTIFACTS or a fresh temporary directory that outlives the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COZE2APP_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "coze2app-e2e-")
		if err != nil {
			t.Fatalf("artifacts dir: %v", err)
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts dir: %v", err)
	}
	t.Logf("artifacts (screenshots): %s", dir)
	return dir
}

// openBot picks bot on the Bots tab and waits until the composer takes input.
func (b *browser) openBot(bot string) {
	b.t.Helper()
	b.click("#tab-bots")
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, bot))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
}

// send types message into the composer and sends it.
func (b *browser) send(message string) {
	b.t.Helper()
	b.setInput("#composer", message)
	b.click("#send")
}

// step runs fn as the subtest name, the tab reporting to it. Steps build on
// earlier ones, so after a failure the rest are skipped.
func (b *browser) step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if t.Failed() {
		t.Logf("skipping %s after an earlier failure", name)
		return
	}
	start := time.Now()
	t.Run(name, func(t *testing.T) {
		b.t = t
		fn(t)
	})
	b.t = t
	t.Logf("%s: %v", name, time.Since(start).Round(time.Millisecond))
}
