package bench

import (
	"context"
	"sort"
	"time"

	"github.com/agent-facets/release/internal/command"
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
// added to the benchmark's environment, and returns its standard output and
// cost. A failure carries the useful line of its standard error.
func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, Proc, error) {
	var u command.Usage
	out, err := runner.Output(ctx, command.Cmd{Name: name, Args: args, Dir: dir, Env: env, Usage: &u})
	return out, Proc{Wall: u.Wall, CPU: u.CPU, MaxRSS: u.MaxRSS}, err
}

// runner runs the benchmark's programs; Run sets its environment.
var runner = &command.Runner{}

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
