package bench

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"

	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/tarball"
)

// The sides of the packing pair, in PackRun.Sides.
const (
	sideToolkit = iota
	sideNPM
	sideBun
	packSides
)

var sideNames = [packSides]string{"toolkit", "npm pack", "bun pm pack"}

// PackResult is the packing pair: the linux-x64 platform package packed by
// internal/tarball (in a helper process, so its memory is its own), by
// `npm pack` and by `bun pm pack` with the pinned Bun (what agent-facets'
// old scripts packed with). Its goals are measured on the real payload.
type PackResult struct {
	// Payload is the real binary; Bun is the Bun that packed as a peer.
	Payload Payload
	Bun     PinnedBun
	// Real packs the real payload; Synthetic, when run, a binary-like file
	// of concatenated system executables.
	Real      *PackRun
	Synthetic *PackRun
	// Larger is the toolkit's pack of a binary LargerSize bytes long (the
	// real payload three times over), to show that memory does not grow
	// with size.
	LargerSize int64
	Larger     Proc
	// Levels and Profile are the evidence when a goal is missed: the
	// parallel gzip's time and size at every level on the real payload, and
	// the helper's CPU profile.
	Levels  []Level
	Profile string
}

// PackRun is one payload packed by every side, alternately.
type PackRun struct {
	// BinarySize is the size of bin/facet; Sources says what it is.
	BinarySize int64
	Sources    string
	Sides      [packSides]PackSide
	// SameTar: the toolkit's and npm's tarballs hold byte-identical tar
	// streams (only the gzip layer differs).
	SameTar bool
	// SameTarBun: bun pm pack's tar stream is npm's too; if not,
	// BunDiffers says how it differs.
	SameTarBun bool
	BunDiffers []string
	// SameBinary: all three tarballs hold the same bytes as bin/facet.
	SameBinary bool
}

// PackSide is one side's runs on one payload.
type PackSide struct {
	Runs []Proc
	// Machine is what the machine did during each run (other work on it).
	Machine []Span
	// Size is the size of the .tgz it wrote.
	Size int64
}

func (s PackSide) wall() time.Duration { return median(procWalls(s.Runs)) }

func (s PackSide) cpu() time.Duration {
	c := make([]time.Duration, len(s.Runs))
	for i, p := range s.Runs {
		c[i] = p.CPU
	}
	return median(c)
}

// fastestPeer is the peer (npm pack or bun pm pack) with the lowest median.
func (r *PackRun) fastestPeer() int {
	if r.Sides[sideBun].wall() > 0 && r.Sides[sideBun].wall() < r.Sides[sideNPM].wall() {
		return sideBun
	}
	return sideNPM
}

// speedRatio is how many times faster the toolkit is than the fastest peer.
func (r *PackRun) speedRatio() float64 {
	return ratio(r.Sides[r.fastestPeer()].wall(), r.Sides[sideToolkit].wall())
}

// sizeRatio is the toolkit's output against npm pack's.
func (r *PackRun) sizeRatio() float64 {
	return float64(r.Sides[sideToolkit].Size) / float64(max(r.Sides[sideNPM].Size, 1))
}

// Level is the parallel gzip of the real payload at one level.
type Level struct {
	Level int
	Wall  time.Duration
	Size  int64
}

// The packing goals (2 CPUs).
const (
	packSpeedGoal = 4        // × faster than the fastest peer
	packMemGoal   = 64 << 20 // peak RSS, bytes
)

func (r *PackResult) peakRSS() int64 {
	peak := r.Larger.MaxRSS
	for _, run := range []*PackRun{r.Real, r.Synthetic} {
		if run != nil {
			peak = max(peak, maxRSS(run.Sides[sideToolkit].Runs))
		}
	}
	return peak
}

func (r *PackResult) speedMet() bool { return r.Real.speedRatio() >= packSpeedGoal }
func (r *PackResult) sizeMet() bool {
	return r.Real.Sides[sideToolkit].Size <= r.Real.Sides[sideNPM].Size
}

// Goals implements the packing goals on the real payload: 4× faster than
// the fastest peer, output no larger than npm pack's, peak memory under
// 64 MiB whatever the binary's size.
func (r *PackResult) Goals() []Goal {
	real := r.Real
	tk, peer := real.Sides[sideToolkit], real.Sides[real.fastestPeer()]
	mem := fmt.Sprintf("%s with the %s binary, %s with %s", mib(maxRSS(tk.Runs)), mb(real.BinarySize), mib(r.Larger.MaxRSS), mb(r.LargerSize))
	if r.Synthetic != nil {
		mem += fmt.Sprintf(", %s with the synthetic %s", mib(maxRSS(r.Synthetic.Sides[sideToolkit].Runs)), mb(r.Synthetic.BinarySize))
	}
	mem += fmt.Sprintf(" (npm pack: %s, bun pm pack: %s)", mib(maxRSS(real.Sides[sideNPM].Runs)), mib(maxRSS(real.Sides[sideBun].Runs)))
	return []Goal{
		{Pair: "2. packing", Goal: fmt.Sprintf("≥ %d× faster than the fastest peer (real payload)", packSpeedGoal),
			Measured: fmt.Sprintf("%s vs %s (%s): %.1f×", sec(tk.wall()), sec(peer.wall()), sideNames[real.fastestPeer()], real.speedRatio()),
			Met:      r.speedMet()},
		{Pair: "2. packing", Goal: "output no larger than npm pack's (real payload)",
			Measured: fmt.Sprintf("%s vs %s: %+.2f%%", mb(tk.Size), mb(real.Sides[sideNPM].Size), (real.sizeRatio()-1)*100),
			Met:      r.sizeMet()},
		{Pair: "2. packing", Goal: "peak memory < 64 MiB whatever the size", Measured: mem, Met: r.peakRSS() < packMemGoal},
	}
}

func procWalls(ps []Proc) []time.Duration {
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		out[i] = p.Wall
	}
	return out
}

func maxRSS(ps []Proc) int64 {
	var m int64
	for _, p := range ps {
		m = max(m, p.MaxRSS)
	}
	return m
}

// packTools is what the packing pair runs.
type packTools struct {
	helper string
	bun    string
	npmEnv []string
}

// pack runs the packing pair. npm and Bun run with r's configuration (they
// read no registry, but must not read the user's).
func (w *world) pack(ctx context.Context, r *localRegistry) (*PackResult, error) {
	helper, err := w.buildHelper(ctx)
	if err != nil {
		return nil, err
	}
	w.out.Line(report.Wait, "the real payload %s and the pinned Bun (fetched into %s on first use)", payloadPackage+"@"+payloadVersion, w.o.CacheDir)
	payload, err := fetchPayload(ctx, w.o.CacheDir)
	if err != nil {
		return nil, err
	}
	bun, err := installBun(ctx, w.o.RepoRoot, w.o.CacheDir)
	if err != nil {
		return nil, err
	}
	tools := packTools{helper: helper, bun: bun.Path, npmEnv: r.npmEnv}
	res := &PackResult{Payload: *payload, Bun: *bun}

	dir := filepath.Join(w.work, "pack", "package")
	bin := filepath.Join(dir, "bin", "facet")
	if err := w.platformPackageDir(dir); err != nil {
		return nil, err
	}
	if err := copyFile(payload.Binary, bin); err != nil {
		return nil, err
	}
	w.out.Line(report.Info, "real payload: %s bin/bun, %s", payload.Spec, mb(payload.Size))
	if res.Real, err = w.packRun(ctx, tools, dir, "real payload"); err != nil {
		return nil, err
	}
	res.Real.BinarySize = payload.Size
	res.Real.Sources = fmt.Sprintf("`bin/bun` of `%s` (the tarball's integrity checked against the pin), the Bun %s runtime", payload.Spec, payloadVersion)

	// Memory must not grow with the binary: pack one three times larger.
	res.LargerSize = 3 * payload.Size
	if err := repeatFile(payload.Binary, bin, 3); err != nil {
		return nil, err
	}
	if _, res.Larger, err = packWithHelper(ctx, helper, dir, filepath.Join(w.work, "pack", "larger.tgz"), ""); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(w.work, "pack", "larger.tgz"))
	w.out.Line(report.OK, "toolkit with a %s binary: %s, peak %s", mb(res.LargerSize), sec(res.Larger.Wall), mib(res.Larger.MaxRSS))
	if err := copyFile(payload.Binary, bin); err != nil {
		return nil, err
	}

	if !res.speedMet() || !res.sizeMet() {
		w.out.Line(report.Wait, "a packing goal is missed: profiling the toolkit and timing every gzip level on the real payload")
		prof := filepath.Join(w.work, "pack", "cpu.pprof")
		out := filepath.Join(w.work, "pack", "profiled.tgz")
		if _, _, err := packWithHelper(ctx, helper, dir, out, prof); err != nil {
			return nil, err
		}
		os.Remove(out)
		res.Profile = pprofTop(ctx, helper, prof)
		if res.Levels, err = gzipLevels(bin); err != nil {
			return nil, err
		}
		var parts []string
		for _, l := range res.Levels {
			parts = append(parts, fmt.Sprintf("%d: %s, %s", l.Level, sec(l.Wall), mb(l.Size)))
		}
		w.out.Line(report.OK, "gzip alone, by level: %s", strings.Join(parts, "; "))
	}

	if !w.o.SkipSynthetic {
		sources, err := binaryLike(bin, w.o.PackSize)
		if err != nil {
			return nil, err
		}
		if res.Synthetic, err = w.packRun(ctx, tools, dir, "synthetic"); err != nil {
			return nil, err
		}
		res.Synthetic.BinarySize, res.Synthetic.Sources = w.o.PackSize, sources
	}
	return res, nil
}

// packRun packs dir with every side, alternately, w.o.Runs times.
func (w *world) packRun(ctx context.Context, t packTools, dir, label string) (*PackRun, error) {
	outDir := filepath.Join(w.work, "pack", "out")
	res := &PackRun{}
	var last [packSides]string
	for i := 0; i < w.o.Runs; i++ {
		for _, side := range rotate(packSides, i) {
			sideDir := filepath.Join(outDir, fmt.Sprint(side))
			if err := os.MkdirAll(sideDir, 0o755); err != nil {
				return nil, err
			}
			var path string
			var p Proc
			machine, err := measure(func() error {
				var err error
				switch side {
				case sideToolkit:
					path = filepath.Join(sideDir, "toolkit.tgz")
					_, p, err = packWithHelper(ctx, t.helper, dir, path, "")
				case sideNPM:
					path, p, err = npmPack(ctx, t.helper, t.npmEnv, dir, sideDir)
				case sideBun:
					path, p, err = bunPack(ctx, t.helper, t.bun, t.npmEnv, dir, sideDir)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			st, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			s := &res.Sides[side]
			s.Runs, s.Machine, s.Size, last[side] = append(s.Runs, p), append(s.Machine, machine), st.Size(), path
		}
		var parts []string
		for k, s := range res.Sides {
			parts = append(parts, fmt.Sprintf("%s %s, %s, peak %s", sideNames[k], sec(s.Runs[i].Wall), mb(s.Size), mib(s.Runs[i].MaxRSS)))
		}
		w.out.Line(report.OK, "%s, run %d/%d: %s", label, i+1, w.o.Runs, strings.Join(parts, "; "))
	}
	var digests [packSides]tarDigests
	for k, path := range last {
		d, err := digestTar(path)
		if err != nil {
			return nil, err
		}
		digests[k] = d
		os.Remove(path)
	}
	res.SameTar = digests[sideToolkit].stream == digests[sideNPM].stream
	res.SameTarBun = digests[sideBun].stream == digests[sideNPM].stream
	if !res.SameTarBun {
		res.BunDiffers = tarDifferences(digests[sideNPM], digests[sideBun])
	}
	bin := tarball.Prefix + "bin/facet"
	want, ok := digests[sideToolkit].entries[bin]
	res.SameBinary = ok
	for _, d := range digests {
		if got, ok := d.entries[bin]; !ok || got != want {
			res.SameBinary = false
		}
	}
	return res, nil
}

// buildHelper builds ./internal/bench/benchpack into the work directory.
func (w *world) buildHelper(ctx context.Context) (string, error) {
	out := filepath.Join(w.work, "benchpack")
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if _, _, err := run(ctx, w.o.RepoRoot, nil, "go", "build", "-o", out, "./internal/bench/benchpack"); err != nil {
		return "", fmt.Errorf("bench: build the pack helper: %w", err)
	}
	return out, nil
}

// platformPackageDir writes the linux-x64 platform package's package.json
// and README.md next to bin/, as pack.Platform lays the package out.
func (w *world) platformPackageDir(dir string) error {
	t, err := w.cfg.Target("linux-x64")
	if err != nil {
		t = w.cfg.PlatformTargets()[0]
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	m, err := json.MarshalIndent(pack.PlatformManifest(w.env(nil, w.quiet), t, version), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), append(m, '\n'), 0o644); err != nil {
		return err
	}
	readme := fmt.Sprintf("# %s\n\nThe binary of %s for %s.\n", t.Name, w.cfg.CLI.Package, pack.Describe(t))
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644)
}

func packWithHelper(ctx context.Context, helper, dir, out, profile string) (tarball.Info, Proc, error) {
	args := []string{"pack", dir, out}
	if profile != "" {
		args = []string{"pack", "-cpuprofile", profile, dir, out}
	}
	stdout, p, err := measured(ctx, helper, "", nil, helper, args...)
	if err != nil {
		return tarball.Info{}, p, fmt.Errorf("bench: the toolkit's pack: %w", err)
	}
	var info tarball.Info
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		return info, p, fmt.Errorf("bench: the pack helper printed %q, not its result", stdout)
	}
	return info, p, nil
}

// npmPack runs `npm pack dir` into outDir and returns the tarball's path.
func npmPack(ctx context.Context, helper string, npmEnv []string, dir, outDir string) (string, Proc, error) {
	stdout, p, err := measured(ctx, helper, "", npmEnv, "npm", "pack", dir, "--json", "--ignore-scripts", "--pack-destination", outDir)
	if err != nil {
		return "", p, fmt.Errorf("bench: %w", err)
	}
	var packed []struct {
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal([]byte(stdout), &packed); err != nil || len(packed) != 1 {
		return "", p, fmt.Errorf("bench: npm pack --json printed no result: %.200q", stdout)
	}
	return filepath.Join(outDir, packed[0].Filename), p, nil
}

// bunPack runs `bun pm pack` in dir into outDir and returns the tarball's
// path (--quiet prints only that).
func bunPack(ctx context.Context, helper, bun string, npmEnv []string, dir, outDir string) (string, Proc, error) {
	stdout, p, err := measured(ctx, helper, dir, npmEnv, bun, "pm", "pack", "--destination", outDir, "--ignore-scripts", "--quiet")
	if err != nil {
		return "", p, fmt.Errorf("bench: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	path := strings.TrimSpace(lines[len(lines)-1])
	if path == "" {
		return "", p, fmt.Errorf("bench: bun pm pack --quiet printed no tarball: %.200q", stdout)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return path, p, nil
}

// measured runs a command in dir (empty: the current directory) through the
// helper's measure mode, so that its peak memory is its own (see
// internal/bench/benchpack), and returns the command's standard output and
// cost.
func measured(ctx context.Context, helper, dir string, env []string, name string, args ...string) (string, Proc, error) {
	f, err := os.CreateTemp("", "bench-measure-*.json")
	if err != nil {
		return "", Proc{}, err
	}
	f.Close()
	defer os.Remove(f.Name())
	stdout, outer, err := run(ctx, dir, env, helper, append([]string{"measure", "-report", f.Name(), "--", name}, args...)...)
	if err != nil {
		return stdout, outer, err
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return stdout, outer, fmt.Errorf("bench: read the measurement of %s: %w", name, err)
	}
	var m struct {
		Wall   time.Duration `json:"wall"`
		CPU    time.Duration `json:"cpu"`
		MaxRSS int64         `json:"maxRSS"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return stdout, outer, fmt.Errorf("bench: the measurement of %s is not JSON: %.100q", name, data)
	}
	return stdout, Proc{Wall: m.Wall, CPU: m.CPU, MaxRSS: m.MaxRSS}, nil
}

// copyFile copies src to dst (mode 0755), replacing dst.
func copyFile(src, dst string) error { return repeatFile(src, dst, 1) }

// repeatFile writes src n times over into dst (mode 0755).
func repeatFile(src, dst string, n int) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		in, err := os.Open(src)
		if err != nil {
			out.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			out.Close()
			return fmt.Errorf("bench: write %s: %w", dst, err)
		}
	}
	return out.Close()
}

// binaryLike writes size bytes of real executables, concatenated: the Go
// toolchain's, then this machine's /usr/bin and /usr/sbin, in name order,
// over again if they are not enough. It returns a description of the
// sources.
func binaryLike(dst string, size int64) (string, error) {
	var dirs []string
	if out, _, err := run(context.Background(), "", nil, "go", "env", "GOROOT"); err == nil {
		goroot := strings.TrimSpace(out)
		dirs = append(dirs, filepath.Join(goroot, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH), filepath.Join(goroot, "bin"))
	}
	dirs = append(dirs, "/usr/bin", "/usr/sbin")
	var srcs []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		var names []string
		for _, e := range entries {
			p := filepath.Join(d, e.Name())
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 && isELF(p) {
				names = append(names, p)
			}
		}
		sort.Strings(names)
		srcs = append(srcs, names...)
	}
	if len(srcs) == 0 {
		return "", fmt.Errorf("bench: no executables found in %s to make a binary-like file from", strings.Join(dirs, ", "))
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var written int64
	used := 0
	for written < size {
		for _, s := range srcs {
			if written >= size {
				break
			}
			in, err := os.Open(s)
			if err != nil {
				continue
			}
			n, err := io.Copy(bw, io.LimitReader(in, size-written))
			in.Close()
			if err != nil {
				return "", fmt.Errorf("bench: write %s: %w", dst, err)
			}
			written += n
			used++
		}
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d executables concatenated (the Go toolchain's, then /usr/bin and /usr/sbin, by name)", used), f.Close()
}

func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && bytes.Equal(magic, []byte("\x7fELF"))
}

// tarDigests are the SHA-256 of a .tgz's tar stream and of each entry,
// and the entries in their order.
type tarDigests struct {
	stream  [32]byte
	entries map[string][32]byte
	order   []string
}

// tarDifferences says how b's tar stream differs from a's: entries whose
// contents differ, missing or extra entries, another order.
func tarDifferences(a, b tarDigests) []string {
	var out []string
	for _, n := range a.order {
		bs, ok := b.entries[n]
		switch {
		case !ok:
			out = append(out, "no "+strings.TrimPrefix(n, tarball.Prefix))
		case bs != a.entries[n]:
			out = append(out, "another "+strings.TrimPrefix(n, tarball.Prefix))
		}
	}
	for _, n := range b.order {
		if _, ok := a.entries[n]; !ok {
			out = append(out, "an extra "+strings.TrimPrefix(n, tarball.Prefix))
		}
	}
	if strings.Join(a.order, "\x00") != strings.Join(b.order, "\x00") {
		out = append(out, "the entries in another order ("+strings.Join(trimPrefixes(b.order), ", ")+")")
	}
	if len(out) == 0 {
		out = append(out, "other tar headers")
	}
	return out
}

func trimPrefixes(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimPrefix(n, tarball.Prefix)
	}
	return out
}

func digestTar(path string) (tarDigests, error) {
	d := tarDigests{entries: map[string][32]byte{}}
	f, err := os.Open(path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return d, fmt.Errorf("bench: %s: %w", path, err)
	}
	h := sha256.New()
	err = walkTar(io.TeeReader(zr, h), func(name string, r io.Reader) error {
		eh := sha256.New()
		if _, err := io.Copy(eh, r); err != nil {
			return err
		}
		var sum [32]byte
		copy(sum[:], eh.Sum(nil))
		d.entries[name] = sum
		d.order = append(d.order, name)
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("bench: %s: %w", path, err)
	}
	if _, err := io.Copy(h, zr); err != nil {
		return d, fmt.Errorf("bench: %s: %w", path, err)
	}
	copy(d.stream[:], h.Sum(nil))
	return d, nil
}

// gzipLevels compresses the binary in memory with the toolkit's parallel
// gzip (its block size, all CPUs up to its limit) at every level.
func gzipLevels(bin string) ([]Level, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var out []Level
	for lvl := 1; lvl <= 9; lvl++ {
		var n countWriter
		start := time.Now()
		zw, err := pgzip.NewWriterLevel(&n, lvl)
		if err != nil {
			return nil, err
		}
		// internal/tarball's block size and concurrency limit.
		if err := zw.SetConcurrency(1<<20, min(runtime.GOMAXPROCS(0), 8)); err != nil {
			return nil, err
		}
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		out = append(out, Level{Level: lvl, Wall: time.Since(start), Size: int64(n)})
	}
	return out, nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// pprofTop is the top of a CPU profile, as `go tool pprof -top` prints it.
func pprofTop(ctx context.Context, bin, prof string) string {
	out, _, err := run(ctx, "", nil, "go", "tool", "pprof", "-top", "-nodecount=12", bin, prof)
	if err != nil {
		return "(go tool pprof failed: " + err.Error() + ")"
	}
	return strings.TrimSpace(out)
}

// walkTar calls fn for every regular file of the tar stream r.
func walkTar(r io.Reader, fn func(name string, r io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if err := fn(h.Name, tr); err != nil {
				return err
			}
		}
	}
}
