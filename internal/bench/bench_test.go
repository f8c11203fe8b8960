package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestQuickRun runs every pair once, small: two targets, a 4 MiB binary, a
// version hidden for 1 s. It checks that each pair measured what it should
// and that the report says so; it asserts no timings.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three local registries and runs npm")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	r, err := Run(ctx, Options{
		RepoRoot:    toolkittest.RepoRoot(),
		Runs:        1,
		ReleaseRuns: 1,
		PackSize:    4 << 20,
		Visibility:  []time.Duration{time.Second},
		Targets:     []string{"linux-x64", "darwin-arm64"},
		Command:     "go test ./internal/bench",
		Environ:     os.Environ(),
		Out:         &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}

	if got := len(r.Release.Toolkit) + len(r.Release.NPM); got != 2 {
		t.Errorf("release pair: %d measurements, want 2", got)
	}
	if r.Release.Packages != 3 || r.Release.Compared != 3 || r.Release.Identical != 3 {
		t.Errorf("release pair: %d packages, %d compared, %d identical, want 3 each; mismatches: %v",
			r.Release.Packages, r.Release.Compared, r.Release.Identical, r.Release.Mismatches)
	}
	if len(r.Release.NPMPublish) != 3 || len(r.Release.NPMView) < 3 {
		t.Errorf("old flow ran %d npm publish and %d npm view, want 3 and at least 3", len(r.Release.NPMPublish), len(r.Release.NPMView))
	}
	// 3 CLI packages + 3 adapters of the demo workspace.
	if r.State.Packages != 6 {
		t.Errorf("state pair read %d packages, want 6", r.State.Packages)
	}
	for name, ss := range map[string][]Span{"toolkit": r.State.Toolkit, "cold": r.State.Cold, "npm": r.State.NPM, "floor": r.State.Floor, "one view": r.State.OneView} {
		if len(ss) != 1 || ss[0].Wall <= 0 {
			t.Errorf("state pair, %s: %v", name, ss)
		}
	}
	if r.State.NPM[0].ChildCPU <= 0 {
		t.Errorf("state pair: npm view's child CPU time not measured: %v", r.State.NPM[0])
	}
	p := r.Pack
	if len(p.Toolkit) != 1 || len(p.NPM) != 1 || p.ToolkitSize <= 0 || p.NPMSize <= 0 {
		t.Errorf("pack pair: %+v", p)
	}
	if p.Toolkit[0].MaxRSS <= 0 || p.NPM[0].MaxRSS <= 0 || p.Larger.MaxRSS <= 0 || p.LargerSize != 12<<20 {
		t.Errorf("pack pair: peak memory not measured: toolkit %d, npm %d, larger %d (%d bytes)", p.Toolkit[0].MaxRSS, p.NPM[0].MaxRSS, p.Larger.MaxRSS, p.LargerSize)
	}
	if !p.SameTar {
		t.Error("pack pair: the toolkit's and npm's tarballs hold different tar streams")
	}
	if len(r.Verify.Cases) != 1 || r.Verify.Cases[0].T != time.Second || r.Verify.Cases[0].Late < 0 {
		t.Errorf("verify pair: %+v", r.Verify.Cases)
	}
	if got := len(r.Goals()); got != 8 {
		t.Errorf("%d goals, want 8", got)
	}

	t.Logf("progress:\n%s", out.String())
	md := string(Markdown(r))
	for _, want := range []string{
		"## Machine", "| cores | ", "| npm | ",
		"go test ./internal/bench",
		"## 1. Registry state of a release", "| npm view ×6 |",
		"## 2. Packing a platform package", "| npm pack |",
		"## 3. Verification latency", "| 1s |",
		"## 4. A whole release", "3 of 3 comparisons identical",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "BENCHMARKS.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOldSchedule(t *testing.T) {
	tests := []struct {
		T, view, want time.Duration
	}{
		{0, 0, 0},
		// Tries at 0, 1, 3, 7, 15, 31, 63, 127, 255 s with an instant npm view.
		{5 * time.Second, 0, 2 * time.Second},
		{30 * time.Second, 0, time.Second},
		{65 * time.Second, 0, 62 * time.Second}, // noticed after 127 s
		{90 * time.Second, 0, 37 * time.Second},
		{255 * time.Second, 0, 0},
		{256 * time.Second, 0, -1}, // gave up after the 128 s pause
		// With npm view taking 0.5 s: requests at 0.5, 2, 4.5, 9 s.
		{5 * time.Second, 500 * time.Millisecond, 4 * time.Second},
	}
	for _, tt := range tests {
		if got := oldSchedule(tt.T, tt.view); got != tt.want {
			t.Errorf("oldSchedule(%s, %s) = %s, want %s", tt.T, tt.view, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3}, 3},
		{[]time.Duration{5, 1, 3}, 3},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds
		{[]time.Duration{10, 20}, 15},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRotate(t *testing.T) {
	tests := []struct {
		n, i int
		want string
	}{
		{2, 0, "[0 1]"},
		{2, 1, "[1 0]"},
		{3, 4, "[1 2 0]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(rotate(tt.n, tt.i)); got != tt.want {
			t.Errorf("rotate(%d, %d) = %s, want %s", tt.n, tt.i, got, tt.want)
		}
	}
}

// TestMarkdownMissedGoals renders a run whose goals are missed: the goal
// table says so and the packing section gives its evidence.
func TestMarkdownMissedGoals(t *testing.T) {
	s := func(d time.Duration) []Span { return []Span{{Wall: d}} }
	r := &Results{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Memory: 4 << 30, Go: "go1.x", Node: "v20", NPM: "11"},
		Options: Options{Runs: 1, ReleaseRuns: 1, PackSize: 100 << 20, Visibility: []time.Duration{5 * time.Second}, Command: "go tool mage bench"},
		Version: "1.0.0", Targets: []string{"linux-x64"},
		State: &StateResult{Packages: 2, Toolkit: s(100 * time.Millisecond), Cold: s(time.Second), NPM: s(2 * time.Second), Floor: s(10 * time.Millisecond), OneView: s(time.Second)},
		Pack: &PackResult{BinarySize: 100 << 20, Sources: "test", ToolkitSize: 110, NPMSize: 100, SameTar: true,
			Toolkit: []Proc{{Wall: 2 * time.Second, MaxRSS: 80 << 20}}, NPM: []Proc{{Wall: 10 * time.Second, MaxRSS: 200 << 20}},
			Levels: []Level{{Level: 1, Wall: time.Second / 2, Size: 120}, {Level: 7, Wall: 2 * time.Second, Size: 101}}},
		Verify:  &VerifyResult{OneView: time.Second, Cases: []VerifyCase{{T: 5 * time.Second, Late: 3 * time.Second, OldLate: 4 * time.Second}}},
		Release: &ReleaseResult{Packages: 2, Toolkit: s(10 * time.Second), NPM: s(20 * time.Second), Compared: 2, Identical: 1, Mismatches: []string{"x@1.0.0"}},
	}
	for _, g := range r.Goals() {
		if g.Met {
			t.Errorf("goal %q met, want missed: %s", g.Goal, g.Measured)
		}
	}
	md := string(Markdown(r))
	for _, want := range []string{
		"| **no** |", "### What bounds the packing speed", "No level is both within 3%", "The two tarballs hold byte-identical",
		"**The 3× goal is missed here; what bounds it is CPU**", "- differs: x@1.0.0", "| 5s | **3.00 s** | 1.50 s | **no** | 4.00 s |",
		// npm view taking 1 s: tries see the registry at 1, 3, 6, 11, 20, 37, 70, 135 s.
		"just after its try at 70.0 s was noticed by the next, at 135.0 s: 65.0 s late",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
