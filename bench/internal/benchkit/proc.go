package benchkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on
// every Linux build we run on).
const ClockTicks = 100

// ProcStats is one sample of a process from /proc.
type ProcStats struct {
	RSSKiB   int64   `json:"rss_kib"`
	FDs      int     `json:"fds"`
	Threads  int     `json:"threads"`
	CPUSecs  float64 `json:"cpu_seconds"` // utime+stime since start
	Children []int   `json:"-"`
}

// ReadProc samples pid: VmRSS and Threads from /proc/PID/status, the number of
// entries in /proc/PID/fd and the CPU time from /proc/PID/stat.
func ReadProc(pid int) (ProcStats, error) {
	var st ProcStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("read status of %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			st.RSSKiB = fieldInt(line)
		case strings.HasPrefix(line, "Threads:"):
			st.Threads = int(fieldInt(line))
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return st, fmt.Errorf("list fds of %d: %w", pid, err)
	}
	st.FDs = len(ents)
	st.CPUSecs, err = CPUSeconds(pid)
	return st, err
}

func fieldInt(line string) int64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n
}

// CPUSeconds is utime+stime of pid in seconds.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// The command name is in parentheses and may hold spaces; fields start after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat of %d: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")": state(3) ppid(4) ... utime(14) stime(15) => indexes 11 and 12 here.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat of %d: short", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stm, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(ut+stm) / ClockTicks, nil
}

// ChildPIDs lists the direct children of pid (nginx workers of the master).
func ChildPIDs(pid int) []int {
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range ents {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, _ := strconv.Atoi(f[1]); pp == pid {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, n)
		}
	}
	return out
}

// TreeCPUSeconds is the CPU time of pid plus its direct children.
func TreeCPUSeconds(pid int) float64 {
	total, _ := CPUSeconds(pid)
	for _, c := range ChildPIDs(pid) {
		s, _ := CPUSeconds(c)
		total += s
	}
	return total
}

// SelfCPUSeconds is the CPU time of this process.
func SelfCPUSeconds() float64 {
	s, _ := CPUSeconds(os.Getpid())
	return s
}

// FDKinds counts pid's open files by kind: "socket", "pipe", "anon_inode:…"
// or the file's base name (database, WAL and log files).
func FDKinds(pid int) map[string]int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for _, e := range ents {
		t, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(t, "socket:"):
			t = "socket"
		case strings.HasPrefix(t, "pipe:"):
			t = "pipe"
		case strings.HasPrefix(t, "anon_inode:"):
		default:
			t = filepath.Base(t)
		}
		out[t]++
	}
	return out
}
