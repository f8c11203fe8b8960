package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestQuickRun runs every pair once, small: two targets, the real payload
// without the synthetic one, one cold start of the toolkit, a version
// hidden for 1 s. It checks that each pair measured what it should, that the
// sizes agree between the pairs, and that the report says so; it asserts no
// timings.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three local registries, runs npm and Bun, compiles the toolkit cold")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var out bytes.Buffer
	r, err := Run(ctx, Options{
		RepoRoot:      toolkittest.RepoRoot(),
		Runs:          1,
		ReleaseRuns:   1,
		ColdRuns:      1,
		SkipSynthetic: true,
		Visibility:    []time.Duration{time.Second},
		Targets:       []string{"linux-x64", "darwin-arm64"},
		Command:       "go test ./internal/bench",
		Environ:       os.Environ(),
		Out:           &out,
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
	if p.Payload.Size < 10<<20 || p.Payload.Integrity != payloadIntegrity || p.Real.BinarySize != p.Payload.Size {
		t.Errorf("pack pair: payload %+v, binary %d bytes", p.Payload, p.Real.BinarySize)
	}
	if p.Bun.Version != payloadVersion || p.Bun.Path == "" {
		t.Errorf("pack pair: Bun %+v, want the pinned %s", p.Bun, payloadVersion)
	}
	for k, side := range p.Real.Sides {
		if len(side.Runs) != 1 || side.Runs[0].Wall <= 0 || side.Runs[0].CPU <= 0 {
			t.Errorf("pack pair, %s: runs %+v", sideNames[k], side.Runs)
		}
		// A tarball of a runtime compresses it, but not to nothing.
		if side.Size <= p.Payload.Size/10 || side.Size >= p.Payload.Size {
			t.Errorf("pack pair, %s: a %d-byte tarball of a %d-byte binary", sideNames[k], side.Size, p.Payload.Size)
		}
		if runtime.GOOS == "linux" && side.Runs[0].MaxRSS <= 0 {
			t.Errorf("pack pair, %s: peak memory not measured", sideNames[k])
		}
	}
	if p.LargerSize != 3*p.Payload.Size || p.Larger.Wall <= 0 || (runtime.GOOS == "linux" && p.Larger.MaxRSS <= 0) {
		t.Errorf("pack pair: the larger pack %d bytes, %+v", p.LargerSize, p.Larger)
	}
	if !p.Real.SameTar || !p.Real.SameBinary {
		t.Errorf("pack pair: same tar stream as npm %v, same bin/facet in all three %v", p.Real.SameTar, p.Real.SameBinary)
	}
	if p.Synthetic != nil {
		t.Error("pack pair: the synthetic row ran, though skipped")
	}
	if missed := !p.speedMet() || !p.sizeMet(); missed != (len(p.Levels) == 9) {
		t.Errorf("pack pair: goals missed %v, %d levels swept", missed, len(p.Levels))
	}

	pl := r.Pipeline
	st := pl.Start
	if len(st.Cold) != 1 || len(st.WarmGo) != 1 || len(st.Warm) != 1 || len(st.Compiled) != 1 {
		t.Errorf("pipeline: starts measured %d cold, %d warm Go, %d warm, %d compiled; want 1 each", len(st.Cold), len(st.WarmGo), len(st.Warm), len(st.Compiled))
	}
	for _, ps := range [][]Proc{st.Cold, st.WarmGo, st.Warm, st.Compiled} {
		for _, x := range ps {
			if x.Wall <= 0 {
				t.Errorf("pipeline: a start of %v", x.Wall)
			}
		}
	}
	if st.GoBuildCache <= 0 || st.ModCache <= 0 || st.Toolkit <= 0 {
		t.Errorf("pipeline: Go build cache %d, module cache %d, toolkit %d bytes", st.GoBuildCache, st.ModCache, st.Toolkit)
	}
	if pl.Binary != p.Payload.Size || pl.Tarball != p.Real.Sides[sideToolkit].Size || pl.CLI <= 0 {
		t.Errorf("pipeline: sizes %d, %d, %d; want the packing pair's %d and %d", pl.Binary, pl.Tarball, pl.CLI, p.Payload.Size, p.Real.Sides[sideToolkit].Size)
	}
	// Before: the build job persists 12 binaries; 12 platform jobs and
	// the CLI job attach them.
	b := pl.Before.Total()
	if want := int64(pl.Targets) * pl.Binary; b.Persisted != want || b.Attached != int64(pl.Targets+1)*want {
		t.Errorf("pipeline before: persisted %d, attached %d; want %d and %d", b.Persisted, b.Attached, want, int64(pl.Targets+1)*want)
	}
	if a := pl.After.Total(); len(pl.After.Jobs) == 0 || a.Start <= 0 {
		t.Errorf("pipeline after: %d jobs, start %v", len(pl.After.Jobs), a.Start)
	}
	if got := len(r.Goals()); got != 8 {
		t.Errorf("%d goals, want 8", got)
	}

	t.Logf("progress:\n%s", out.String())
	md := string(Markdown(r))
	for _, want := range []string{
		"## Machine", "| cores | ", "| npm | ", "| Bun (pinned) | " + payloadVersion,
		"`go test ./internal/bench`", "It is a shortened run",
		"## 1. Registry state of a release", "| npm view ×6 |",
		"## 2. Packing a platform package with a real binary", "| npm pack |", "| bun pm pack |", payloadPackage + "@" + payloadVersion,
		"## 3. Verification latency", "| 1s |",
		"## 4. A whole release", "3 of 3 comparisons identical",
		"## 5. The pipeline's cost per release", "### Before: ", "### After: ", "| publish-platform-linux-x64 |",
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
// table says so and the packing section gives its evidence; and the
// pipeline section, with and without a change between the pipelines.
func TestMarkdownMissedGoals(t *testing.T) {
	s := func(d time.Duration) []Span { return []Span{{Wall: d}} }
	procs := func(d time.Duration, rss int64) []Proc { return []Proc{{Wall: d, CPU: d, MaxRSS: rss}} }
	var levels []Level
	for l := 1; l <= 9; l++ {
		// With the toolkit's pack 0.25 s and 7 bytes more than its level 7,
		// levels 1-4 are fast enough and none reaches npm's 100 bytes.
		levels = append(levels, Level{Level: l, Wall: time.Duration(l) * 250 * time.Millisecond, Size: int64(110 - l)})
	}
	real := &PackRun{BinarySize: 1000, Sources: "test runtime", SameTar: true, SameBinary: true, BunDiffers: []string{"another package.json"},
		Sides: [packSides]PackSide{
			{Runs: procs(2*time.Second, 80<<20), Size: 110},
			{Runs: procs(10*time.Second, 200<<20), Size: 100},
			{Runs: procs(5*time.Second, 20<<20), Size: 95},
		}}
	cfg, files := testFiles(t)
	tag := cfg.Release.TagPrefix + "1.0.0"
	before, err := parseCircleCI(beforePipeline, tag)
	if err != nil {
		t.Fatal(err)
	}
	beforeCost, err := costPipeline(before, files, tStarts)
	if err != nil {
		t.Fatal(err)
	}
	start := StartResult{Cold: procs(10*time.Second, 0), WarmGo: procs(time.Second, 0), Warm: procs(time.Second/5, 0), Compiled: procs(time.Second/100, 0),
		GoBuildCache: tGoCache, ModCache: tModCache, Toolkit: tToolkit}
	r := &Results{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Memory: 4 << 30, Go: "go1.x", Node: "v20", NPM: "11"},
		Options: Options{Runs: 1, ReleaseRuns: 1, ColdRuns: 1, PackSize: 100 << 20, Visibility: []time.Duration{5 * time.Second}, Command: "go tool mage bench -runs=1"},
		Version: "1.0.0", Targets: []string{"linux-x64"},
		State: &StateResult{Packages: 2, Toolkit: s(100 * time.Millisecond), Cold: s(time.Second), NPM: s(2 * time.Second), Floor: s(10 * time.Millisecond), OneView: s(time.Second)},
		Pack: &PackResult{Payload: Payload{Spec: "p@1", Size: 1000}, Bun: PinnedBun{Version: "1.4.4"}, Real: real,
			LargerSize: 3000, Larger: Proc{Wall: 6 * time.Second, MaxRSS: 81 << 20}, Levels: levels},
		Verify:  &VerifyResult{OneView: time.Second, Cases: []VerifyCase{{T: 5 * time.Second, Late: 3 * time.Second, OldLate: 4 * time.Second}}},
		Release: &ReleaseResult{Packages: 2, Toolkit: s(10 * time.Second), NPM: s(20 * time.Second), Compared: 2, Identical: 1, Mismatches: []string{"x@1.0.0"}},
		Pipeline: &PipelineResult{Start: start, Tag: tag, Binary: tBinary, Tarball: tTarball, CLI: tCLI, Targets: len(cfg.Targets),
			Before: &PipelineCost{Label: "before", Source: "test", Jobs: beforeCost}, After: &PipelineCost{Label: "after", Source: "test", Jobs: beforeCost}},
	}
	for _, g := range r.Goals() {
		if g.Met {
			t.Errorf("goal %q met, want missed: %s", g.Goal, g.Measured)
		}
	}
	md := string(Markdown(r))
	for _, want := range []string{
		"| **no** |", "It is a shortened run",
		"| 2. packing | ≥ 4× faster than the fastest peer (real payload) | 2.00 s vs 5.00 s (bun pm pack): 2.5× | **no** |",
		"### What bounds packing", "4× the fastest peer (bun pm pack, 5.00 s) needs 1.25 s or less",
		"| 7 (the toolkit's) | 1.75 s | 2.00 s | 2.5× faster |",
		"(0.25 s here: reading,",
		"**No level writes a tarball as small as npm pack's**: the smallest, level 9, is +8.00%",
		"Levels 1, 2, 3, 4 are fast enough for 4× on 2 CPUs",
		"bun pm pack's tar stream is not npm's: it holds another package.json.",
		"**The 3× goal is missed here; what bounds it is CPU**", "- differs: x@1.0.0", "| 5s | **3.00 s** | 1.50 s | **no** | 4.00 s |",
		// npm view taking 1 s: tries see the registry at 1, 3, 6, 11, 20, 37, 70, 135 s.
		"just after its try at 70.0 s was noticed by the next, at 135.0 s: 65.0 s late",
		"## 5. The pipeline's cost per release", "| publish-platform-linux-x64 | 1.2 MB | 0 B | none | yes, 1× | cold | 10.0 s |",
		"| **total** | **15.6 MB** | **1.2 MB** | none | **yes, 16×** | cold ×16 | **160.0 s** |", "costs what the one committed at cab9365 does",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}

	// A sweep slower than the measured pack says its times are rough.
	if md := string(Markdown(r)); strings.Contains(md, "their times are rough") {
		t.Error("the sweep is called rough though level 7 alone was faster than the pack")
	}
	real.Sides[sideToolkit].Runs = procs(time.Second, 80<<20)
	if md := string(Markdown(r)); !strings.Contains(md, "Level 7 alone took 1.75 s here, longer than the whole pack's median (1.00 s)") {
		t.Errorf("a sweep slower than the pack is not called rough:\n%s", md)
	}

	// A changed pipeline gets the before/after table.
	yml, err := os.ReadFile(filepath.Join("testdata", "circleci-compiled.yml"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseCircleCI(yml, tag)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pipeline.After.Jobs, err = costPipeline(after, files, tStarts); err != nil {
		t.Fatal(err)
	}
	md = string(Markdown(r))
	for _, want := range []string{
		"| jobs | 16 | 6 | -10 |", "| workspace bytes attached | 15.6 MB | 475.0 kB | -97% |", "| toolkit compilations | 16 | 1 | -15 |",
		"- persist dist/checksums.txt",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
