package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agent-facets/release/internal/secret"
)

// Proc is what one child process cost.
type Proc struct {
	Wall time.Duration
	// CPU is user + system time of the process and the children it waited for.
	CPU time.Duration
	// MaxRSS is the peak resident set size, in bytes (the kernel's
	// ru_maxrss: the largest of the process and its waited-for children).
	MaxRSS int64
}

// run runs name with args in dir (empty: the current directory) with env
// added to the process environment, and returns its standard output and cost.
// A failure carries the tail of its standard error.
func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, Proc, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	p := Proc{Wall: time.Since(start)}
	if st := cmd.ProcessState; st != nil {
		p.CPU = st.UserTime() + st.SystemTime()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			p.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	if err != nil {
		return stdout.String(), p, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, tailLines(secret.Redact(stderr.String()), 5))
	}
	return stdout.String(), p, nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// childrenCPU is the CPU time of every child process this process has
// waited for so far (RUSAGE_CHILDREN).
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const tick = 10 * time.Millisecond

// cpuSample is the machine's busy and total CPU time from /proc/stat, in
// ticks, and the CPU time of this process tree.
type cpuSample struct {
	busy, total uint64
	tree        time.Duration
}

func sampleCPU() cpuSample {
	s := cpuSample{tree: treeCPU()}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return s
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return s
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal guest guest_nice
	for i, v := range fields[1:] {
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		s.total += n
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	return s
}

// treeCPU is the CPU time used so far by this process and all its
// descendants, alive or reaped (a reaped child's time is in its parent's
// cutime and cstime). The local registries are descendants too.
func treeCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	cpu := map[int]uint64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// The command name may hold spaces and parentheses: fields start
		// after the last ')'. Then: state ppid … utime(11) stime cutime cstime.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		var sum uint64
		for _, v := range f[11:15] {
			n, _ := strconv.ParseUint(v, 10, 64)
			sum += n
		}
		cpu[pid] = sum
	}
	self := os.Getpid()
	inTree := map[int]bool{self: true}
	var member func(pid int, depth int) bool
	member = func(pid, depth int) bool {
		if v, ok := inTree[pid]; ok {
			return v
		}
		pp, ok := parent[pid]
		v := ok && pp != 0 && depth < 64 && member(pp, depth+1)
		inTree[pid] = v
		return v
	}
	var total uint64
	for pid, c := range cpu {
		if member(pid, 0) {
			total += c
		}
	}
	return time.Duration(total) * tick
}

// Span is one measured run of one side of a pair: its wall time and what
// the machine did meanwhile.
type Span struct {
	Wall time.Duration
	// ChildCPU is the CPU time of the child processes (npm, node) that ended
	// during the run.
	ChildCPU time.Duration
	// TreeCPU is the CPU time of this process and all its descendants,
	// the local registries included.
	TreeCPU time.Duration
	// OtherCPU is the CPU time the rest of the machine used meanwhile:
	// other people's work, which slows the run down.
	OtherCPU time.Duration
	// Busy is the fraction of the machine's CPUs busy during the run.
	Busy float64
}

// measure times fn, with the CPU of the child processes it waited for and
// the machine's load.
func measure(fn func() error) (Span, error) {
	c0, s0 := childrenCPU(), sampleCPU()
	start := time.Now()
	err := fn()
	sp := Span{Wall: time.Since(start), ChildCPU: childrenCPU() - c0}
	s1 := sampleCPU()
	sp.TreeCPU = s1.tree - s0.tree
	if s1.total > s0.total {
		sp.Busy = float64(s1.busy-s0.busy) / float64(s1.total-s0.total)
		sp.OtherCPU = max(0, time.Duration(s1.busy-s0.busy)*tick-sp.TreeCPU)
	}
	return sp, err
}

// median of ds (the mean of the two middle values for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(xs []int64) int64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x)
	}
	return int64(median(ds))
}

func medianFloat(xs []float64) float64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x * 1e6)
	}
	return float64(median(ds)) / 1e6
}

// walls returns the wall times of spans.
func walls(ss []Span) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.Wall
	}
	return out
}

// rotate returns the order in which run i executes n sides: each side goes
// first in turn, so no side always runs on a cold or a warm machine.
func rotate(n, i int) []int {
	out := make([]int, n)
	for k := range out {
		out[k] = (i + k) % n
	}
	return out
}
