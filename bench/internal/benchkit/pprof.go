package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Download saves url to path.
func Download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PprofTop runs `go tool pprof -top` on a saved profile.
func PprofTop(ctx context.Context, bin, path string, extra ...string) []string {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=25"}, extra...)
	args = append(args, bin, path)
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return []string{"pprof: " + err.Error()}
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// GoroutineGroups reads a debug=1 goroutine dump and groups goroutines by
// where they wait (the first frame) and the innermost coze2app frame, largest
// groups first: "count  wait-point  ← coze2app frame  (started in)".
func GoroutineGroups(dump string, top int) []string {
	counts := map[string]int{}
	for _, group := range strings.Split(dump, "\n\n") {
		lines := strings.Split(strings.TrimSpace(group), "\n")
		if len(lines) > 0 && strings.HasPrefix(lines[0], "goroutine profile:") {
			lines = lines[1:]
		}
		if len(lines) == 0 {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(lines[0], "%d @", &n); err != nil {
			continue
		}
		var frames []string
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" {
				fn := f[2]
				if i := strings.LastIndex(fn, "+0x"); i > 0 {
					fn = fn[:i]
				}
				frames = append(frames, fn)
			}
		}
		if len(frames) == 0 {
			continue
		}
		wait := frames[0]
		for _, fn := range frames {
			// Skip the runtime's and the poller's own frames to name the wait.
			if !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "internal/") && !strings.HasPrefix(fn, "sync.runtime_") {
				wait = fn
				break
			}
		}
		app := ""
		for _, fn := range frames {
			if strings.Contains(fn, "coze2app/internal/") {
				app = fn[strings.Index(fn, "internal/")+len("internal/"):]
				break
			}
		}
		key := wait
		if app != "" {
			key += "  ← " + app
		}
		key += "  (started in " + frames[len(frames)-1] + ")"
		counts[key] += n
	}
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range counts {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
	var out []string
	for _, e := range all[:min(len(all), top)] {
		out = append(out, fmt.Sprintf("%6d %s", e.n, e.k))
	}
	return out
}

// FetchGoroutineGroups downloads /debug/pprof/goroutine?debug=1 from addr and
// groups it; the raw dump is saved to path when path is not empty.
func FetchGoroutineGroups(ctx context.Context, addr, path string, top int) []string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/goroutine?debug=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return []string{err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if path != "" {
		_ = os.WriteFile(path, b, 0o644)
	}
	return GoroutineGroups(string(b), top)
}
