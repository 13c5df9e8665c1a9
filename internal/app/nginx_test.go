package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// The shipped deploy/nginx/coze2app.conf, run by Debian's nginx in front of
// one coze2app: sign-in, an HTTP/2 stream over TLS relayed event by event, the
// plain-HTTP redirect, and a JSON error when coze2app is down.
func TestNginxShippedConfig(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	cert := writeSelfSigned(t, dir, 6001)
	front, plainFront := freeAddr(t), freeAddr(t)
	public := "https://" + front

	sim, simSrv := externalSim(t, public+"/callback", cozesim.Options{DeltaDelay: time.Millisecond})
	env := realModeEnv(simSrv.URL, "127.0.0.1:0", "sqlite:"+dir+"/coze2app.db")
	env["COZE_REDIRECT_URI"] = public + "/callback"
	env["COZE2APP_PUBLIC_URL"] = public
	a := mustStart(t, env)
	startNginx(t, bin, dir, front, siteSubst(cert, front, plainFront, a.URL))

	c := tlsBrowser(t, cert.leaf)
	signIn(t, c, public, "7391000000000000101")

	t.Run("reply streams over HTTP/2 to its end", func(t *testing.T) {
		s := openChatStream(t, c, public, "hello through nginx")
		defer s.Close()
		var text strings.Builder
		var end sseEvent
		for {
			ev, ok := s.next(t)
			if !ok {
				break
			}
			if ev.name == "delta" {
				text.WriteString(ev.field(t, "text"))
			}
			if ev.name == "end" {
				end = ev
			}
		}
		if end.name != "end" || end.field(t, "status") != "completed" {
			t.Fatalf("stream ended without end completed; last %+v", end)
		}
		if text.Len() == 0 {
			t.Error("no delta text came through")
		}
		if s.events < 3 {
			t.Errorf("%d events, want chat, deltas and end", s.events)
		}
	})

	t.Run("events arrive while Coze is silent", func(t *testing.T) {
		// Coze writes created, in_progress and two deltas, then goes silent.
		// A buffering proxy would hold those events back until the reply ends;
		// here they must arrive while it is still running, so Stop still
		// finds it running.
		sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, SilentAfterEvents: 4})
		s := openChatStream(t, c, public, "a reply that stalls")
		defer s.Close()
		first, ok := s.next(t)
		if !ok || first.name != "chat" {
			t.Fatalf("first event = %+v, want chat", first)
		}
		for {
			ev, ok := s.next(t)
			if !ok {
				t.Fatal("stream ended before any delta")
			}
			if ev.name == "end" {
				t.Fatalf("reply ended before Stop: %s (buffered until the reply timed out?)", ev.data)
			}
			if ev.name == "delta" {
				break
			}
		}
		var ok2 map[string]any
		if code := postJSON(t, c, public+"/api/chat/cancel", map[string]string{
			"conversation_id": first.field(t, "conversation_id"), "chat_id": first.field(t, "chat_id"),
		}, &ok2); code != 200 {
			t.Fatalf("cancel = %d %v, want 200", code, ok2)
		}
		var end sseEvent
		for {
			ev, ok := s.next(t)
			if !ok {
				break
			}
			end = ev
		}
		if end.name != "end" || end.field(t, "status") != "canceled" {
			t.Errorf("last event = %+v, want end canceled", end)
		}
	})

	t.Run("plain HTTP redirects to HTTPS", func(t *testing.T) {
		res, err := c.Get("http://" + plainFront + "/c/1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://") || !strings.HasSuffix(loc, "/c/1") {
			t.Errorf("plain HTTP = %d Location %q, want 301 to https", res.StatusCode, loc)
		}
	})

	t.Run("coze2app down gives a JSON error", func(t *testing.T) {
		if err := a.stop(t); err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if code := getJSON(t, c, public+"/api/auth/status", &body); code != http.StatusServiceUnavailable || body.Error.Code != "unavailable" {
			t.Errorf("with coze2app down: %d %+v, want 503 with JSON error unavailable", code, body)
		}
	})
}

// nginxBinary finds Debian's nginx. Missing, the test fails under CI=true
// (scripts/test.sh installs it) and is skipped elsewhere.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed; CI=true needs it (scripts/test.sh installs nginx-light)")
	}
	t.Skip("SKIP: nginx is not installed (apt-get install nginx-light); the shipped nginx config is not tested")
	return ""
}

// startNginx runs nginx in the foreground with deploy/nginx/coze2app.conf,
// each key of subst replaced by its value (every key must occur: the test
// follows the shipped file), and waits until probeAddr accepts connections.
func startNginx(t *testing.T, bin, dir, probeAddr string, subst map[string]string) {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "coze2app.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(shipped)
	for from, to := range subst {
		if !strings.Contains(conf, from) {
			t.Fatalf("deploy/nginx/coze2app.conf no longer contains %q", from)
		}
		conf = strings.ReplaceAll(conf, from, to)
	}
	site := filepath.Join(dir, "coze2app.conf")
	if err := os.WriteFile(site, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// One process in the foreground (no workers to orphan), every path in dir.
	var main strings.Builder
	fmt.Fprintf(&main, "daemon off;\nmaster_process off;\npid %s/nginx.pid;\nerror_log %s/error.log notice;\n", dir, dir)
	fmt.Fprintf(&main, "events { worker_connections 256; }\nhttp {\n  access_log off;\n")
	version, _ := exec.Command(bin, "-V").CombinedOutput()
	for _, m := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if m != "client_body" && bytes.Contains(version, []byte("--without-http_"+m+"_module")) {
			continue
		}
		fmt.Fprintf(&main, "  %s_temp_path %s/%s_temp;\n", m, dir, m)
	}
	fmt.Fprintf(&main, "  include %s;\n}\n", site)
	mainConf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainConf, []byte(main.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", mainConf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", mainConf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), logs)
		}
	})
	ready := waitFor(20*time.Second, func() bool {
		select {
		case err := <-exited:
			exited <- err
			return true
		default:
		}
		conn, err := net.Dial("tcp", probeAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	select {
	case err := <-exited:
		t.Fatalf("nginx exited: %v\n%s", err, out.String())
	default:
	}
	if !ready {
		t.Fatalf("nginx did not accept connections:\n%s", out.String())
	}
}

// siteSubst points the shipped site at the test's addresses and certificate:
// HTTPS on front, plain HTTP on plainFront, coze2app at app.
func siteSubst(cert testCert, front, plainFront, app string) map[string]string {
	return map[string]string{
		"127.0.0.1:5000":                  strings.TrimPrefix(app, "http://"),
		"/etc/ssl/coze2app/fullchain.pem": cert.certFile,
		"/etc/ssl/coze2app/privkey.pem":   cert.keyFile,
		"listen 443 ssl http2;":           "listen " + front + " ssl http2;",
		"listen [::]:443 ssl http2;":      "",
		"listen 80;":                      "listen " + plainFront + ";",
		"listen [::]:80;":                 "",
	}
}

// sseEvent is one event of a stream.
type sseEvent struct {
	id, name, data string
}

func (e sseEvent) field(t *testing.T, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.data), &m); err != nil {
		t.Fatalf("event %s data %q: %v", e.name, e.data, err)
	}
	s, _ := m[key].(string)
	return s
}

// chatStream reads our SSE stream event by event, checking the ids count up.
type chatStream struct {
	io.Closer
	sc     *bufio.Scanner
	lastID int
	events int
}

// openChatStream posts a streamed chat and checks it is an HTTP/2 event stream.
func openChatStream(t *testing.T, c *http.Client, base, msg string) *chatStream {
	t.Helper()
	res, err := postSameOrigin(c, base+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": msg, "stream": true})
	return checkStream(t, "POST /api/chat", res, err, 0)
}

// resumeChatStream follows chat chatID again after lastID (Last-Event-ID); the
// ids it checks go on from lastID.
func resumeChatStream(t *testing.T, c *http.Client, base, chatID string, lastID int) *chatStream {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/chat/"+chatID+"/stream", nil)
	req.Header.Set("Last-Event-ID", strconv.Itoa(lastID))
	res, err := c.Do(req)
	return checkStream(t, "GET "+req.URL.Path, res, err, lastID)
}

// checkStream checks the answer to what is an HTTP/2 event stream and reads it.
func checkStream(t *testing.T, what string, res *http.Response, err error, lastID int) *chatStream {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("%s = %d %s: %s", what, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("stream over %s, want HTTP/2", res.Proto)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &chatStream{Closer: res.Body, sc: sc, lastID: lastID}
}

// next returns the next event, or false at the end of the stream.
func (s *chatStream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	var ev sseEvent
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, ":"): // heartbeat
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		case line == "" && ev.name != "":
			s.events++
			if ev.id != "" {
				if want := fmt.Sprint(s.lastID + 1); ev.id != want {
					t.Errorf("event id %s after %d, want %s", ev.id, s.lastID, want)
				}
				fmt.Sscan(ev.id, &s.lastID)
			}
			return ev, true
		}
	}
	if err := s.sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return sseEvent{}, false
}
