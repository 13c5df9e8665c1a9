package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Proc is a child process the benchmark started; Stop ends exactly it.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	done    chan error
}

// PID is the child's process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited reports whether the child has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartProc runs bin args with env appended to ours, output to logPath.
func StartProc(name, bin string, args, env []string, logPath string) (*Proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.done <- err
		close(p.done)
	}()
	return p, nil
}

// Stop sends sig to the child, waits up to wait, then kills it.
func (p *Proc) Stop(sig syscall.Signal, wait time.Duration) {
	if p == nil || p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(wait):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// startServing starts a process as StartProc does and waits up to timeout
// until url answers (WaitHTTP); one that does not is killed.
func startServing(ctx context.Context, name, bin string, args, env []string, logPath, url string, timeout time.Duration) (*Proc, error) {
	p, err := StartProc(name, bin, args, env, logPath)
	if err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, p, url, timeout); err != nil {
		p.Stop(syscall.SIGKILL, time.Second)
		return nil, err
	}
	return p, nil
}

// WaitHTTP polls url until it answers any HTTP status, the child exits, or
// timeout passes.
func WaitHTTP(ctx context.Context, p *Proc, url string, timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			b, _ := os.ReadFile(p.LogPath)
			return fmt.Errorf("%s exited early; log:\n%s", p.Name, tail(b, 2000))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: %s did not answer within %s", p.Name, url, timeout)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// AppConfig describes one coze2app serve process against a simulator.
type AppConfig struct {
	Bin          string // built binary, e.g. /tmp/coze2app
	Dir          string // work dir: database and log go here
	Addr         string // 127.0.0.1:PORT
	SimBase      string // http://127.0.0.1:SIMPORT
	ClientID     string
	ClientSecret string
	Env          []string // extra KEY=VALUE; "{dir}" stands for Dir; later keys win
}

// RedirectURI is the callback the simulator's app must register.
func (c AppConfig) RedirectURI() string { return "http://" + c.Addr + "/callback" }

// StartApp starts `coze2app serve` and waits for /healthz.
func StartApp(ctx context.Context, c AppConfig) (*Proc, error) {
	env := []string{
		"COZE_CLIENT_ID=" + c.ClientID,
		"COZE_CLIENT_SECRET=" + c.ClientSecret,
		"COZE_REDIRECT_URI=" + c.RedirectURI(),
		"COZE_API_BASE=" + c.SimBase,
		"COZE_WWW_BASE=" + c.SimBase,
		"COZE2APP_ADDR=" + c.Addr,
		"COZE2APP_DATABASE_URL=sqlite:" + filepath.Join(c.Dir, "coze2app.db"),
		// Request logs at info would cost the app a write per request that
		// nginx (access_log off) does not pay.
		"COZE2APP_LOG_LEVEL=warn",
		// A few browsers carry thousands of streams: lift the per-user
		// share that protects a real deployment (issue 8 item 3).
		"COZE2APP_MAX_REPLIES_PER_USER=100000",
		"COZE2APP_CHATS_PER_MINUTE=100000",
		"COZE2APP_MAX_UPLOADS_PER_USER=1000",
	}
	for _, e := range c.Env {
		env = append(env, strings.ReplaceAll(e, "{dir}", c.Dir))
	}
	return startServing(ctx, "coze2app", c.Bin, []string{"serve"}, env, filepath.Join(c.Dir, "app.log"), "http://"+c.Addr+"/healthz", 30*time.Second)
}

// StartSimProcess starts `coze2app sim` and waits until it answers.
func StartSimProcess(ctx context.Context, bin, dir, addr, clientID, secret, redirectURI string, deltaDelay time.Duration) (*Proc, error) {
	args := []string{"sim", "--addr", addr, "--client-id", clientID, "--client-secret", secret,
		"--redirect-uri", redirectURI, "--delta-delay", deltaDelay.String()}
	return startServing(ctx, "coze2app sim", bin, args, nil, filepath.Join(dir, "sim.log"), "http://"+addr+"/", 30*time.Second)
}

// NginxConfig is the reference relay: nginx proxying the simulator's streams.
type NginxConfig struct {
	Bin      string // /usr/sbin/nginx
	Dir      string // prefix dir (config, pid, logs, temp dirs)
	Listen   string // 127.0.0.1:PORT
	Upstream string // 127.0.0.1:SIMPORT
	Workers  int    // worker_processes; 0 => auto
	// Keepalive is the idle upstream connections each worker keeps; it
	// matches coze2app's Coze client (MaxIdleConnsPerHost 32).
	Keepalive int
}

const nginxConf = `# generated by bench; runs in the foreground as the current user
%sworker_processes %s;
worker_rlimit_nofile 20000;
daemon off;
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
events { worker_connections 16000; }
http {
    access_log off;
    client_body_temp_path %[3]s/tmp/body;
    proxy_temp_path %[3]s/tmp/proxy;
    fastcgi_temp_path %[3]s/tmp/fastcgi;
    uwsgi_temp_path %[3]s/tmp/uwsgi;
    scgi_temp_path %[3]s/tmp/scgi;
    keepalive_requests 100000;
    upstream sim {
        server %[4]s;
        keepalive %[5]d;
        keepalive_requests 100000;
    }
    server {
        listen %[6]s;
        location / {
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 1h;
        }
    }
}
`

// StartNginx writes the config into c.Dir and runs nginx in the foreground.
func StartNginx(ctx context.Context, c NginxConfig) (*Proc, error) {
	if err := os.MkdirAll(filepath.Join(c.Dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	workers := "auto"
	if c.Workers > 0 {
		workers = strconv.Itoa(c.Workers)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // keep workers as the current user
	}
	if c.Keepalive == 0 {
		c.Keepalive = 32
	}
	conf := fmt.Sprintf(nginxConf, user, workers, c.Dir, c.Upstream, c.Keepalive, c.Listen)
	path := filepath.Join(c.Dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startServing(ctx, "nginx", c.Bin, []string{"-p", c.Dir, "-c", path, "-e", filepath.Join(c.Dir, "error.log")}, nil, filepath.Join(c.Dir, "nginx.out"), "http://"+c.Listen+"/", 10*time.Second)
}

// ErrStopped marks a run stopped by the caller.
var ErrStopped = errors.New("stopped")
