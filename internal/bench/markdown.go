package bench

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/tarball"
)

func ratio(slow, fast time.Duration) float64 {
	if fast <= 0 {
		return 0
	}
	return float64(slow) / float64(fast)
}

// sec formats a duration in seconds: "0.43 s", "12.3 s".
func sec(d time.Duration) string {
	if d < 0 {
		return "never (gave up)"
	}
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// ms formats a short duration in milliseconds.
func ms(d time.Duration) string {
	if d >= time.Second {
		return sec(d)
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// mb formats a file's size in decimal megabytes, as npm and registries
// print them: "52.42 MB".
func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

func list(ds []time.Duration, f func(time.Duration) string) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = f(d)
	}
	return strings.Join(s, ", ")
}

// times says how many times: "once", "3 times".
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func mark(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// Markdown renders r as BENCHMARKS.md.
func Markdown(r *Results) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o := r.Options
	p("# Benchmarks")
	p("")
	p("The toolkit against the npm CLI (and, for packing, `bun pm pack`) doing the same work, side by side")
	p("in one run, against throwaway local registries (Verdaccio behind the test emulator of")
	p("`internal/localregistry`, on loopback); and what one release costs in the CircleCI pipeline,")
	p("before the pipeline rework and as generated now. Each pair runs alternately, each side first in")
	p("turn; the tables give every run and the median. This file is written by the benchmark: run it")
	p("again rather than editing it.")
	p("")
	p("## Reproduce")
	p("")
	p("```sh")
	p("go tool mage bench")
	p("```")
	p("")
	p("Flags: `-runs=N` (the state and packing pairs and the compiled toolkit's start, default 5),")
	p("`-releaseRuns=N` (the whole release, default 3), `-coldRuns=N` (toolkit starts with empty Go build")
	p("and Mage caches, default 3), `-size=MiB` (the synthetic binary, default 100; 0 leaves it out),")
	p("`-delays=LIST` (the verification delays, default 5s,30s,90s), `-out=FILE` (default BENCHMARKS.md).")
	p("")
	synthetic := "a " + mib(o.PackSize) + " synthetic binary"
	if o.SkipSynthetic {
		synthetic = "no synthetic binary"
	}
	p("This file was written by `%s` on %s, in %s: pairs 1 and 2 ran %s, pair 4 %s,", o.Command, r.Started.UTC().Format("2006-01-02"), r.Duration.Round(time.Second), times(o.Runs), times(o.ReleaseRuns))
	p("the toolkit started cold %s, %s, delays %s.", times(o.ColdRuns), synthetic, list(o.Visibility, func(d time.Duration) string { return d.String() }))
	if !o.full() {
		p("**It is a shortened run**: its medians rest on fewer runs (or smaller work) than the defaults, and")
		p("its timings are only as good as the machine was quiet; `go tool mage bench` with no flags is the full run.")
	}
	p("")
	p("## Machine")
	p("")
	m := r.Machine
	p("| | |")
	p("| --- | --- |")
	p("| CPU | %s |", m.CPU)
	p("| cores | %d logical CPUs |", m.Cores)
	p("| memory | %.1f GiB |", float64(m.Memory)/(1<<30))
	p("| OS | %s |", m.OS)
	p("| Go | %s |", m.Go)
	p("| Node.js | %s |", m.Node)
	p("| npm | %s |", m.NPM)
	if r.Pack != nil {
		p("| Bun (pinned) | %s |", r.Pack.Bun.Version)
	}
	p("")
	p("## Goals")
	p("")
	p("| pair | goal | measured (medians) | met |")
	p("| --- | --- | --- | --- |")
	for _, g := range r.Goals() {
		p("| %s | %s | %s | %s |", g.Pair, g.Goal, g.Measured, mark(g.Met))
	}
	if r.State != nil {
		stateSection(p, r)
	}
	if r.Pack != nil {
		packSection(p, r)
	}
	if r.Verify != nil {
		verifySection(p, r)
	}
	if r.Release != nil {
		releaseSection(p, r)
	}
	if r.Pipeline != nil {
		pipelineSection(p, r)
	}
	return []byte(b.String())
}

type printf func(format string, args ...any)

// spanHeader and spanRow print a side's runs: wall times, then where the
// machine's CPU went meanwhile.
func spanHeader(p printf) {
	p("| side | median | × toolkit | runs | CPU: npm processes | CPU: all of this run's processes | CPU: other work on the machine | machine busy |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |")
}

func spanRow(p printf, name string, ss []Span, f func(time.Duration) string, base time.Duration) {
	med := median(walls(ss))
	rel := "1×"
	if base > 0 {
		rel = fmt.Sprintf("%.2f×", ratio(med, base))
	}
	var child, tree, other []time.Duration
	var busy []float64
	for _, s := range ss {
		child, tree, other = append(child, s.ChildCPU), append(tree, s.TreeCPU), append(other, s.OtherCPU)
		busy = append(busy, s.Busy)
	}
	p("| %s | **%s** | %s | %s | %s | %s | %s | %s |", name, f(med), rel, list(walls(ss), f), sec(median(child)), sec(median(tree)), sec(median(other)), pct(medianFloat(busy)))
}

// otherWork warns when other processes took a noticeable share of the CPUs
// during the measured runs.
func otherWork(p printf, cores int, sides ...[]Span) {
	var other, wall time.Duration
	for _, ss := range sides {
		for _, s := range ss {
			other += s.OtherCPU
			wall += s.Wall
		}
	}
	if wall == 0 || float64(other)/float64(wall*time.Duration(cores)) < 0.1 {
		return
	}
	p("")
	p("Other work on the machine took %s of its %d CPUs during these runs (%s of CPU over %s): the", pct(float64(other)/float64(wall*time.Duration(cores))), cores, sec(other), sec(wall))
	p("times are slower than on a quiet machine, every side alike.")
}

func stateSection(p printf, r *Results) {
	s := r.State
	tk := median(walls(s.Toolkit))
	p("")
	p("## 1. Registry state of a release")
	p("")
	p("The state of all %d packages of release %s (the CLI package, %d platform packages, the demo", s.Packages, r.Version, len(r.Targets))
	p("workspace's adapters): published or not, and with which integrity.")
	p("")
	p("- **toolkit**: `registry.Client.CheckAll` as `status` and the publishing targets call it (abbreviated,")
	p("  uncached packuments, up to 16 at once), the registry already resolved, no connection kept from")
	p("  a previous run;")
	p("- **toolkit, cold**: the same plus what a fresh `mage status` process does first, reading npm's")
	p("  configuration for the registry (one `npm config list`);")
	p("- **npm view**: `npm view <pkg>@<version> version` for every package, all at once, as the old scripts did;")
	p("- **plain GETs**: the floor, one concurrent `net/http` GET of the same URLs, body read, nothing decoded;")
	p("- **one npm view**: a single `npm view`, the unit the old verification schedule is made of.")
	p("")
	spanHeader(p)
	spanRow(p, "toolkit", s.Toolkit, ms, 0)
	spanRow(p, "toolkit, cold", s.Cold, ms, tk)
	spanRow(p, "npm view ×"+fmt.Sprint(s.Packages), s.NPM, ms, tk)
	spanRow(p, "plain GETs", s.Floor, ms, tk)
	spanRow(p, "one npm view", s.OneView, ms, tk)
	otherWork(p, r.Machine.Cores, s.Toolkit, s.Cold, s.NPM, s.Floor, s.OneView)
	p("")
	npm := median(walls(s.NPM))
	var cpu []time.Duration
	for _, x := range s.NPM {
		cpu = append(cpu, x.ChildCPU)
	}
	p("npm view costs %s of CPU per process (%d processes: %s on %d CPUs), which is why running them all at",
		sec(median(cpu)/time.Duration(max(s.Packages, 1))), s.Packages, sec(median(cpu)), r.Machine.Cores)
	p("once is no faster than %s. The toolkit reads the same answers in %s, %.0f× faster; against the floor", sec(npm), ms(tk), ratio(npm, tk))
	if f := ratio(tk, median(walls(s.Floor))); f <= 1.1 {
		p("it is as fast (%.2f×; the difference is noise): both wait for the registry to serve %d", f, s.Packages)
		p("packuments, and the decoding and comparing the toolkit adds is small next to that.")
	} else {
		p("it takes %.2f× the time: both wait for the registry to serve %d packuments; the rest is the", f, s.Packages)
		p("toolkit's decoding, comparing and retry bookkeeping.")
	}
	p("A whole `mage status` also reads npm's configuration once (the cold row): that single npm process,")
	p("not the registry reads, is most of its time.")
}

func packSection(p printf, r *Results) {
	s := r.Pack
	p("")
	p("## 2. Packing a platform package with a real binary")
	p("")
	p("The linux-x64 platform package (package.json, README.md, `bin/facet`). Its `bin/facet` is the real")
	p("payload, %s: %s. It is the runtime every `bun build", mb(s.Real.BinarySize), s.Real.Sources)
	p("--compile` CLI embeds (agent-facets' binaries are it plus their bundle), fetched with npm into the")
	p("user's cache directory on first use. Three sides pack the same directory, alternately, each first")
	p("in turn:")
	p("")
	p("- **toolkit**: `internal/tarball` as `pack.Platform` does (gzip level %d, parallel in 1 MiB blocks, written", tarball.Level)
	p("  to a temporary file, synced and renamed), in a process of its own;")
	p("- **npm pack** (npm %s);", r.Machine.NPM)
	p("- **bun pm pack** with the Bun the tests pin (%s, `--ignore-scripts`; gzip level 9, its default), what", s.Bun.Version)
	p("  agent-facets' old scripts packed with.")
	p("")
	p("Each is started through a small measuring process (`internal/bench/benchpack measure`), which reads")
	p("the command's wall time, CPU time and peak resident memory (`ru_maxrss`) as `/usr/bin/time` would.")
	p("")
	packTable(p, s.Real, fmt.Sprintf("toolkit, %s binary (the runtime three times over)", mb(s.LargerSize)), s.Larger)
	otherProcs(p, s.Real)
	packOtherWork(p, r.Machine.Cores, s.Real)
	tk, npmSide, bunSide := s.Real.Sides[sideToolkit], s.Real.Sides[sideNPM], s.Real.Sides[sideBun]
	p("")
	p("The toolkit is %.1f× faster than npm pack and %.1f× faster than bun pm pack; its output is %+.2f%% the size of", ratio(npmSide.wall(), tk.wall()), ratio(bunSide.wall(), tk.wall()), (s.Real.sizeRatio()-1)*100)
	p("npm's (bun pm pack's: %+.2f%%); its peak memory is %s, and %s with a binary three times larger", (float64(bunSide.Size)/float64(max(npmSide.Size, 1))-1)*100, mib(maxRSS(tk.Runs)), mib(s.Larger.MaxRSS))
	p("(npm pack: %s; bun pm pack: %s).", mib(maxRSS(npmSide.Runs)), mib(maxRSS(bunSide.Runs)))
	identity(p, s.Real)
	if s.Synthetic != nil {
		p("")
		p("### A synthetic binary")
		p("")
		p("The same package with a %s binary-like `bin/facet`: %s. It compresses", mib(s.Synthetic.BinarySize), s.Synthetic.Sources)
		p("differently from a real Bun runtime; the goals are measured on the real payload above.")
		p("")
		packTable(p, s.Synthetic, "", Proc{})
		packOtherWork(p, r.Machine.Cores, s.Synthetic)
		identity(p, s.Synthetic)
	}
	if len(s.Levels) > 0 {
		levelSection(p, r)
	}
	if s.Profile != "" {
		p("")
		p("CPU profile of one toolkit pack of the real payload (`go tool pprof -top`):")
		p("")
		p("```")
		for _, line := range strings.Split(s.Profile, "\n") {
			if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") {
				continue
			}
			p("%s", line)
		}
		p("```")
	}
}

// packTable prints one payload's sides, and an extra toolkit row if named.
func packTable(p printf, run *PackRun, extra string, x Proc) {
	tk := run.Sides[sideToolkit].wall()
	npmSize := run.Sides[sideNPM].Size
	p("| side | median | × toolkit | runs | output | vs npm pack's size | peak memory (RSS) | CPU (median) |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for k, side := range run.Sides {
		rel := "1×"
		if k != sideToolkit {
			rel = fmt.Sprintf("%.2f×", ratio(side.wall(), tk))
		}
		p("| %s | **%s** | %s | %s | %s | %+.2f%% | %s | %s |", sideNames[k], sec(side.wall()), rel, list(procWalls(side.Runs), sec),
			mb(side.Size), (float64(side.Size)/float64(max(npmSize, 1))-1)*100, mib(maxRSS(side.Runs)), sec(side.cpu()))
	}
	if extra != "" {
		p("| %s | %s | | 1 run | | | %s | %s |", extra, sec(x.Wall), mib(x.MaxRSS), sec(x.CPU))
	}
}

// otherProcs notes how many CPUs each side kept busy.
func otherProcs(p printf, run *PackRun) {
	var parts []string
	for k, side := range run.Sides {
		parts = append(parts, fmt.Sprintf("%s %.1f", sideNames[k], float64(side.cpu())/float64(max(side.wall(), 1))))
	}
	p("")
	p("CPUs kept busy (CPU time over wall time, medians): %s.", strings.Join(parts, ", "))
}

// packOtherWork warns, as otherWork does, when other processes took a
// noticeable share of the CPUs while the sides packed.
func packOtherWork(p printf, cores int, run *PackRun) {
	var spans [][]Span
	for _, side := range run.Sides {
		spans = append(spans, side.Machine)
	}
	otherWork(p, cores, spans...)
}

func identity(p printf, run *PackRun) {
	p("")
	switch {
	case run.SameTar && run.SameBinary:
		p("The toolkit's and npm's tarballs hold byte-identical tar streams (only the gzip layer differs), and")
		p("all three hold `bin/facet` byte for byte.")
	case run.SameTar:
		p("The toolkit's and npm's tarballs hold byte-identical tar streams (only the gzip layer differs);")
		p("**bun pm pack's `bin/facet` differs**: compare them with `tar -xzOf`.")
	case run.SameBinary:
		p("**The toolkit's and npm's tar streams differ** (same files expected: compare them with `tar -tvzf`);")
		p("all three hold `bin/facet` byte for byte.")
	default:
		p("**The tarballs differ in `bin/facet`**: compare them with `tar -xzOf`.")
	}
	if !run.SameTarBun {
		p("bun pm pack's tar stream is not npm's: it holds %s.", strings.Join(run.BunDiffers, "; "))
	}
}

// levelSection is the evidence for a missed packing goal: the toolkit's
// gzip at every level on the real payload.
func levelSection(p printf, r *Results) {
	s := r.Pack
	run := s.Real
	tk := run.Sides[sideToolkit]
	peer := run.fastestPeer()
	need := time.Duration(float64(run.Sides[peer].wall()) / packSpeedGoal)
	npmSize := run.Sides[sideNPM].Size
	var at Level
	for _, l := range s.Levels {
		if l.Level == tarball.Level {
			at = l
		}
	}
	rest := max(0, tk.wall()-at.Wall) // reading, hashing, writing, syncing, process start
	extra := tk.Size - at.Size        // tar headers, package.json, README, gzip framing
	p("")
	p("### What bounds packing")
	p("")
	p("%d× the fastest peer (%s, %s) needs %s or less, with output no larger than npm pack's %s.", packSpeedGoal, sideNames[peer], sec(run.Sides[peer].wall()), sec(need), mb(npmSize))
	p("The toolkit used %s of CPU in %s (%.1f CPUs busy), most of it in deflate (profile below). The same", sec(tk.cpu()), sec(tk.wall()), float64(tk.cpu())/float64(max(tk.wall(), 1)))
	p("parallel gzip on the real payload, in memory (no reading, hashing or writing), at every level, with")
	p("the rest of a pack added for the estimates (%s here: reading, SHA-512 and SHA-1, writing, syncing,", sec(rest))
	p("the process's start; and %s of tar headers, package.json and README):", humanBytes(extra))
	if at.Wall > tk.wall() {
		p("")
		p("Level %d alone took %s here, longer than the whole pack's median (%s): other work held the CPUs", tarball.Level, sec(at.Wall), sec(tk.wall()))
		p("more while the levels ran, so their times are rough; their sizes are exact.")
	}
	p("")
	p("| level | gzip alone | estimated pack | vs %s's time | estimated tarball | vs npm pack's size |", sideNames[peer])
	p("| --- | --- | --- | --- | --- | --- |")
	var sizeOK, speedOK []int
	best := 0
	for _, l := range s.Levels {
		est, size := l.Wall+rest, l.Size+extra
		mark := ""
		if l.Level == tarball.Level {
			mark = " (the toolkit's)"
		}
		p("| %d%s | %s | %s | %.1f× faster | %s | %+.2f%% |", l.Level, mark, sec(l.Wall), sec(est), ratio(run.Sides[peer].wall(), est), mb(size), (float64(size)/float64(max(npmSize, 1))-1)*100)
		if size <= npmSize {
			sizeOK = append(sizeOK, l.Level)
		}
		if est <= need {
			speedOK = append(speedOK, l.Level)
		}
		if size <= npmSize && est <= need && best == 0 {
			best = l.Level
		}
	}
	p("")
	smallest := s.Levels[0]
	for _, l := range s.Levels {
		if l.Size < smallest.Size {
			smallest = l
		}
	}
	switch {
	case best == tarball.Level:
		p("By this estimate the toolkit's level %d meets both goals; the measured runs did not, so the", best)
		p("difference is noise between runs (other work on the machine).")
	case best != 0:
		p("By this estimate level %d would meet both goals on this machine; the toolkit's level is %d, set", best, tarball.Level)
		p("in `internal/tarball`.")
	case len(sizeOK) == 0:
		p("**No level writes a tarball as small as npm pack's**: the smallest, level %d, is %+.2f%% (%s). The", smallest.Level, (float64(smallest.Size+extra)/float64(max(npmSize, 1))-1)*100, mb(smallest.Size+extra))
		p("bound is the encoder at its best level: klauspost/compress's deflate, in 1 MiB blocks each primed")
		p("with the previous block's tail, against npm's zlib. %s", speedVerdict(speedOK, r.Machine.Cores))
	default:
		p("The levels that reach npm pack's size (%s) are too slow for %d× on %d CPUs. %s", joinInts(sizeOK), packSpeedGoal, r.Machine.Cores, speedVerdict(speedOK, r.Machine.Cores))
	}
	p("The toolkit keeps level %d: another level would change every tarball's bytes, so that a re-run", tarball.Level)
	p("would find a version the current level published with another integrity.")
}

func speedVerdict(speedOK []int, cores int) string {
	if len(speedOK) == 0 {
		return fmt.Sprintf("No level is fast enough for %d× on %d CPUs either.", packSpeedGoal, cores)
	}
	if len(speedOK) == 1 {
		return fmt.Sprintf("Level %d is fast enough for %d× on %d CPUs, at a larger size.", speedOK[0], packSpeedGoal, cores)
	}
	return fmt.Sprintf("Levels %s are fast enough for %d× on %d CPUs, at a larger size.", joinInts(speedOK), packSpeedGoal, cores)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// humanBytes formats a byte count with a decimal unit.
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func verifySection(p printf, r *Results) {
	s := r.Verify
	p("")
	p("## 3. Verification latency")
	p("")
	p("The emulator serves a published version only T after the publish, as a CDN serving a stale")
	p("packument would (`localregistry` `HideVersion`; `?write=true` reads are not fooled, installers' reads")
	p("are). `publish.Verifier.Wait`, with the publishing targets' defaults, polls what installers see;")
	p("the table gives the time from the version's visibility to Wait returning. The delays ran once")
	p("each, at the same time, on different packages. The old scripts' schedule (`npm view`, then pauses")
	p("of 1, 2, 4 … 128 s) is computed for the same T with one `npm view` taking %s (pair 1).", sec(s.OneView))
	p("")
	p("| T | toolkit noticed after | goal (T/10 + 1 s) | met | old schedule noticed after |")
	p("| --- | --- | --- | --- | --- |")
	for _, c := range s.Cases {
		p("| %s | **%s** | %s | %s | %s |", c.T, sec(c.Late), sec(c.Bound()), mark(c.Late <= c.Bound()), sec(c.OldLate))
	}
	p("")
	p("The toolkit's pause is a tenth of the time waited so far (at least 0.5 s, at most 15 s), so it")
	p("notices a version at worst about T/10 after it appears. The old doubling overshoots by up to T:")
	tries := oldTries(s.OneView)
	p("a version visible just after its try at %s was noticed by the next, at %s: %s late.", sec(tries[6]), sec(tries[7]), sec(tries[7]-tries[6]))
}

func releaseSection(p printf, r *Results) {
	s := r.Release
	tk, npm := median(walls(s.Toolkit)), median(walls(s.NPM))
	p("")
	p("## 4. A whole release")
	p("")
	p("%d packages: %d platform packages, then the CLI package, the build excluded. Each side publishes", s.Packages, s.Packages-1)
	p("to a fresh registry where a maintainer seeded every package (`seedCLI`), with npm's own login:")
	p("")
	p("- **toolkit**: `publish.Platforms` (the platform packages concurrently, as the CI matrix) then")
	p("  `publish.CLI`: the registry checked before each publish, each package packed, published with")
	p("  `npm publish` and verified until the registry serves its exact bytes; the CLI package only after")
	p("  all platform packages are confirmed;")
	p("- **npm**: the old flow, one package after another: `npm publish <tarball>`, then `npm view")
	p("  <pkg>@<version> version` until it prints the version. It publishes the toolkit's own tarballs")
	p("  (packed before the run, not timed), so both registries must end with the same bytes. The old")
	p("  scripts did more (an `npm view` before each publish, and one per platform package before the CLI),")
	p("  so this is the old flow's least cost.")
	p("")
	spanHeader(p)
	spanRow(p, "toolkit", s.Toolkit, sec, 0)
	spanRow(p, "npm publish + npm view", s.NPM, sec, tk)
	p("")
	p("After every run both registries held all %d packages at %s with the local tarballs' integrity:", s.Packages, r.Version)
	p("%d of %d comparisons identical.", s.Identical, s.Compared)
	for _, m := range s.Mismatches {
		p("- differs: %s", m)
	}
	otherWork(p, r.Machine.Cores, s.Toolkit, s.NPM)
	pubWall, pubCPU := procMedians(s.NPMPublish)
	viewWall, viewCPU := procMedians(s.NPMView)
	var npmCPU, treeCPU []time.Duration
	for _, x := range s.Toolkit {
		npmCPU = append(npmCPU, x.ChildCPU)
		treeCPU = append(treeCPU, x.TreeCPU)
	}
	cores := time.Duration(max(r.Machine.Cores, 1))
	floor := median(treeCPU) / cores
	p("")
	p("One `npm publish` takes %s (%s of CPU) and one `npm view` %s (%s of CPU); the old flow runs", sec(pubWall), sec(pubCPU), sec(viewWall), sec(viewCPU))
	p("%d of each, one after another. The toolkit still publishes through npm, one `npm publish` per", s.Packages)
	p("package (plus one `npm config list`), but runs them concurrently and verifies over HTTP. Its npm")
	p("processes used %s of CPU per release, and with the local registry's own work (Verdaccio runs on", sec(median(npmCPU)))
	p("the same CPUs here) its run used %s: on %d CPUs no schedule can finish that in less than %s.", sec(median(treeCPU)), r.Machine.Cores, sec(floor))
	if floor > 0 {
		p("With npm doing the writes, the best ratio this machine allows is about %.1f×; the toolkit", ratio(npm, floor))
		p("reached %.1f×.", s.Ratio())
	}
	if s.Ratio() < 3 {
		p("")
		p("**The 3× goal is missed here; what bounds it is CPU**: each `npm publish` is a Node.js process")
		p("that loads npm (about %s of CPU), and the registry answering on the same machine needs its", sec(pubCPU))
		p("share, so %d CPUs cap the concurrency. With more CPUs, a remote registry, or in CI where every", r.Machine.Cores)
		p("platform package is its own job, the platform packages publish in parallel and the ratio rises.")
	}
	p("")
	p("Setting up the two registries of a run (start, maintainer, seeding %d packages) took %s (not timed).", s.Packages, sec(s.Setup))
}

func procMedians(ps []Proc) (wall, cpu time.Duration) {
	var w, c []time.Duration
	for _, x := range ps {
		w = append(w, x.Wall)
		c = append(c, x.CPU)
	}
	return median(w), median(c)
}

func pipelineSection(p printf, r *Results) {
	s := r.Pipeline
	st := s.Start
	p("")
	p("## 5. The pipeline's cost per release")
	p("")
	p("What one release moves and compiles in CircleCI, read from the pipeline's YAML for a push of the")
	p("tag `%s`: the jobs whose filters run on it, matrices expanded, reusable commands and parameters", s.Tag)
	p("substituted; per job, what its `attach_workspace`, `persist_to_workspace`, `restore_cache` and")
	p("`save_cache` steps move, and every start of the toolkit in its `run` steps (`go tool mage`, which")
	p("compiles it from the fresh clone, or a binary that `go tool mage -compile` wrote). The files are")
	p("what the toolkit's targets write there (`build`: the binaries; `publishPlatform`: its target's")
	p("tarball; `publishCLI`: the CLI package's), at these sizes, measured in this run:")
	p("")
	p("| file | size | measured as |")
	p("| --- | --- | --- |")
	p("| a binary (×%d targets) | %s | the real payload of pair 2, standing for every target's binary |", s.Targets, mb(s.Binary))
	p("| a platform package tarball (×%d) | %s | the toolkit's tarball of the real payload (pair 2) |", s.Targets, mb(s.Tarball))
	p("| the CLI package's tarball | %s | `pack.CLIContents` of release.json at %s, packed in memory |", humanBytes(s.CLI), r.Version)
	p("| the compiled toolkit | %s | `go tool mage -compile` of this repository |", mb(st.Toolkit))
	p("| the Go build cache | %s | `GOCACHE` after a cold start |", mb(st.GoBuildCache))
	p("| the Go module cache | %s | the zips and trees `go mod download` keeps for go.mod's build list |", mb(st.ModCache))
	p("")
	p("The toolkit's own start, `go tool mage %s` (a target that only prints a table) from this", startProbe)
	p("repository. Cold is a fresh CI container's case: a temporary, empty `GOCACHE` and `MAGEFILE_CACHE`.")
	p("Kept warm throughout: the Go module cache (nothing downloaded: `GOPROXY=off`), the Go toolchain")
	p("and the operating system's file cache; a fresh container also downloads the modules.")
	p("")
	p("| start | median | runs | CPU (median) |")
	p("| --- | --- | --- | --- |")
	for _, row := range []struct {
		name string
		ps   []Proc
	}{
		{"cold: empty Go build and Mage caches", st.Cold},
		{"warm Go cache, empty Mage cache (a job that restored the Go build cache)", st.WarmGo},
		{"warm (a second start in the same job)", st.Warm},
		{"compiled: the binary `go tool mage -compile` wrote", st.Compiled},
	} {
		cpu := make([]time.Duration, len(row.ps))
		for i, x := range row.ps {
			cpu[i] = x.CPU
		}
		p("| %s | **%s** | %s | %s |", row.name, sec(median(procWalls(row.ps))), list(procWalls(row.ps), sec), sec(median(cpu)))
	}
	pipelineTable(p, s.Before)
	if reflect.DeepEqual(s.Before.Jobs, s.After.Jobs) {
		p("")
		p("### After: %s", s.After.Source)
		p("")
		p("The pipeline generated now costs what the one committed at cab9365 does, job for job and in every")
		p("column (the table above): the pipeline rework has not changed these costs in this tree.")
		return
	}
	pipelineTable(p, s.After)
	b, a := s.Before.Total(), s.After.Total()
	p("")
	p("### Before and after")
	p("")
	p("| per release | before | after | change |")
	p("| --- | --- | --- | --- |")
	p("| jobs | %d | %d | %+d |", len(s.Before.Jobs), len(s.After.Jobs), len(s.After.Jobs)-len(s.Before.Jobs))
	p("| workspace bytes attached | %s | %s | %s |", humanBytes(b.Attached), humanBytes(a.Attached), change(b.Attached, a.Attached))
	p("| workspace bytes persisted | %s | %s | %s |", humanBytes(b.Persisted), humanBytes(a.Persisted), change(b.Persisted, a.Persisted))
	p("| cache bytes restored | %s | %s | %s |", humanBytes(b.Restored), humanBytes(a.Restored), change(b.Restored, a.Restored))
	p("| cache bytes saved (only for a new key) | %s | %s | %s |", humanBytes(b.Saved), humanBytes(a.Saved), change(b.Saved, a.Saved))
	p("| toolkit compilations | %d | %d | %+d |", b.Compiles, a.Compiles, a.Compiles-b.Compiles)
	p("| toolkit start time, all jobs | %s | %s | %s |", sec(b.Start), sec(a.Start), change(int64(b.Start), int64(a.Start)))
}

func change(before, after int64) string {
	if before == 0 {
		if after == 0 {
			return "none"
		}
		return "new"
	}
	return fmt.Sprintf("%+.0f%%", (float64(after)/float64(before)-1)*100)
}

// pipelineTable prints one pipeline's jobs and its total.
func pipelineTable(p printf, pc *PipelineCost) {
	p("")
	p("### %s%s: %s", strings.ToUpper(pc.Label[:1]), pc.Label[1:], pc.Source)
	p("")
	p("| job | attaches | persists | caches restored / saved | compiles the toolkit | toolkit starts | toolkit start time |")
	p("| --- | --- | --- | --- | --- | --- | --- |")
	row := func(j JobCost, bold bool) {
		compiles := "no"
		if j.Compiles > 0 {
			compiles = fmt.Sprintf("yes, %d×", j.Compiles)
		}
		starts := "none"
		if len(j.Starts) > 0 {
			starts = strings.Join(countWords(j.Starts), ", ")
		}
		caches := "none"
		if j.Restored > 0 || j.Saved > 0 {
			caches = humanBytes(j.Restored) + " / " + humanBytes(j.Saved)
		}
		f := func(s string) string { return s }
		if bold {
			f = func(s string) string { return "**" + s + "**" }
		}
		p("| %s | %s | %s | %s | %s | %s | %s |", f(j.Name), f(humanBytes(j.Attached)), f(humanBytes(j.Persisted)), caches, f(compiles), starts, f(sec(j.Start)))
	}
	for _, j := range pc.Jobs {
		row(j, false)
	}
	row(pc.Total(), true)
	if t := pc.Total(); len(t.Unsized) > 0 {
		p("")
		p("Not sized (nothing the toolkit's targets write is there, or a cache no job of the pipeline saves):")
		for _, u := range dedupe(t.Unsized) {
			p("- %s", u)
		}
	}
}

// countWords turns ["cold", "warm", "warm"] into ["cold", "warm ×2"].
func countWords(ws []string) []string {
	var order []string
	n := map[string]int{}
	for _, w := range ws {
		if n[w] == 0 {
			order = append(order, w)
		}
		n[w]++
	}
	for i, w := range order {
		if n[w] > 1 {
			order[i] = fmt.Sprintf("%s ×%d", w, n[w])
		}
	}
	return order
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
