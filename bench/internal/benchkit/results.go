package benchkit

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a result was measured.
type Machine struct {
	Host      string `json:"host"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit"`
	NoFile    string `json:"nofile_limit"`
	When      string `json:"when"`
	// LoadAvg is /proc/loadavg when the run started: the machine is shared.
	LoadAvg string `json:"load_avg"`
}

// LoadAvg is the 1, 5 and 15 minute load averages.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// DescribeMachine collects Machine from /proc and git.
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), When: time.Now().UTC().Format(time.RFC3339)}
	m.Host, _ = os.Hostname()
	m.LoadAvg = LoadAvg()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPUModel = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Max open files") {
				m.NoFile = strings.Join(strings.Fields(l)[3:5], "/")
			}
		}
	}
	return m
}

// WriteJSON writes v, indented, to path (creating its directory).
func WriteJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create results dir: %w", err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	return nil
}

// Report ends a benchmark command: what the run measured (a partial result
// too) is written as JSON to path and as a table to stdout; then the program
// exits with the run's error, or with the write's.
func Report[R any](path string, res *R, err error, table func(io.Writer, *R)) {
	var werr error
	if res != nil {
		werr = WriteJSON(path, res)
		fmt.Println()
		table(os.Stdout, res)
		if werr == nil {
			log.Printf("wrote %s", path)
		}
	}
	if err == nil {
		err = werr
	} else if werr != nil {
		log.Print(werr)
	}
	if err != nil {
		log.Fatal(err)
	}
}
