package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/pgzip"

	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/tarball"
)

// PackResult is the packing pair: a platform package holding a large
// binary-like file, packed by internal/tarball (in a helper process, so its
// memory is its own) and by `npm pack`.
type PackResult struct {
	// BinarySize is the size of the packed binary; Sources says what it was
	// made of.
	BinarySize int64
	Sources    string
	Toolkit    []Proc
	NPM        []Proc
	// ToolkitSize and NPMSize are the sizes of the .tgz files.
	ToolkitSize, NPMSize int64
	// SameTar: the two tarballs hold byte-identical tar streams; only the
	// gzip layer differs.
	SameTar bool
	// Larger is the toolkit's peak memory packing a binary LargerSize bytes
	// long, to show that memory does not grow with size.
	LargerSize int64
	Larger     Proc
	// Levels and Profile are the evidence when the speed goal is missed: the
	// gzip level's time and size on this machine, and the helper's CPU
	// profile.
	Levels  []Level
	Profile string
}

// Level is the parallel gzip of the binary at one level.
type Level struct {
	Level int
	Wall  time.Duration
	Size  int64
}

func (r *PackResult) speedRatio() float64 {
	return ratio(median(procWalls(r.NPM)), median(procWalls(r.Toolkit)))
}

func (r *PackResult) sizeRatio() float64 { return float64(r.ToolkitSize) / float64(r.NPMSize) }

func (r *PackResult) peakRSS() int64 {
	peak := r.Larger.MaxRSS
	for _, p := range r.Toolkit {
		peak = max(peak, p.MaxRSS)
	}
	return peak
}

// Goals implements the packing goals: 10× faster than npm pack, at most 3%
// larger, peak memory under 64 MB whatever the binary's size.
func (r *PackResult) Goals() []Goal {
	tk, npm := median(procWalls(r.Toolkit)), median(procWalls(r.NPM))
	return []Goal{
		{Pair: "2. packing", Goal: "≥ 10× faster than npm pack",
			Measured: fmt.Sprintf("%s vs %s: %.1f×", sec(tk), sec(npm), r.speedRatio()), Met: r.speedRatio() >= 10},
		{Pair: "2. packing", Goal: "output ≤ 3% larger than npm pack's",
			Measured: fmt.Sprintf("%s vs %s: %+.2f%%", mib(r.ToolkitSize), mib(r.NPMSize), (r.sizeRatio()-1)*100), Met: r.sizeRatio() <= 1.03},
		{Pair: "2. packing", Goal: "peak memory < 64 MiB whatever the size",
			Measured: fmt.Sprintf("%s at %s, %s at %s (npm pack: %s)", mib(maxRSS(r.Toolkit)), mib(r.BinarySize), mib(r.Larger.MaxRSS), mib(r.LargerSize), mib(maxRSS(r.NPM))),
			Met:      r.peakRSS() < 64<<20},
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

// pack runs the packing pair. npm runs with r's configuration (it reads no
// registry, but must not read the user's).
func (w *world) pack(ctx context.Context, r *localRegistry) (*PackResult, error) {
	helper, err := w.buildHelper(ctx)
	if err != nil {
		return nil, err
	}
	res := &PackResult{BinarySize: w.o.PackSize}
	dir := filepath.Join(w.work, "pack", "package")
	bin := filepath.Join(dir, "bin", "facet")
	if res.Sources, err = binaryLike(bin, w.o.PackSize); err != nil {
		return nil, err
	}
	if err := w.platformPackageDir(dir); err != nil {
		return nil, err
	}
	outDir := filepath.Join(w.work, "pack", "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	tkOut := filepath.Join(outDir, "toolkit.tgz")
	var npmOut string
	for i := 0; i < w.o.Runs; i++ {
		for _, side := range rotate(2, i) {
			if side == 0 {
				info, p, err := packWithHelper(ctx, helper, dir, tkOut, "")
				if err != nil {
					return nil, err
				}
				res.Toolkit, res.ToolkitSize = append(res.Toolkit, p), info.Size
			} else {
				path, p, err := npmPack(ctx, helper, r.npmEnv, dir, outDir)
				if err != nil {
					return nil, err
				}
				st, err := os.Stat(path)
				if err != nil {
					return nil, err
				}
				res.NPM, res.NPMSize, npmOut = append(res.NPM, p), st.Size(), path
			}
		}
		w.out.Line(report.OK, "run %d/%d: toolkit %s, %s, peak %s; npm pack %s, %s, peak %s",
			i+1, w.o.Runs, sec(res.Toolkit[i].Wall), mib(res.ToolkitSize), mib(res.Toolkit[i].MaxRSS),
			sec(res.NPM[i].Wall), mib(res.NPMSize), mib(res.NPM[i].MaxRSS))
	}
	if res.SameTar, err = sameTar(tkOut, npmOut); err != nil {
		return nil, err
	}
	os.Remove(npmOut)

	// Memory must not grow with the binary: pack one three times larger.
	res.LargerSize = 3 * w.o.PackSize
	if _, err := binaryLike(bin, res.LargerSize); err != nil {
		return nil, err
	}
	if _, res.Larger, err = packWithHelper(ctx, helper, dir, tkOut, ""); err != nil {
		return nil, err
	}
	w.out.Line(report.OK, "toolkit with a %s binary: %s, peak %s", mib(res.LargerSize), sec(res.Larger.Wall), mib(res.Larger.MaxRSS))
	if _, err := binaryLike(bin, w.o.PackSize); err != nil {
		return nil, err
	}

	if res.speedRatio() < 10 {
		w.out.Line(report.Wait, "speed goal missed: profiling the toolkit and timing the gzip levels")
		prof := filepath.Join(w.work, "pack", "cpu.pprof")
		if _, _, err := packWithHelper(ctx, helper, dir, tkOut, prof); err != nil {
			return nil, err
		}
		res.Profile = pprofTop(ctx, helper, prof)
		if res.Levels, err = gzipLevels(bin); err != nil {
			return nil, err
		}
	}
	os.Remove(tkOut)
	return res, nil
}

// buildHelper builds ./internal/bench/benchpack into the work directory.
func (w *world) buildHelper(ctx context.Context) (string, error) {
	out := filepath.Join(w.work, "benchpack")
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
	stdout, p, err := measured(ctx, helper, nil, helper, args...)
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
	stdout, p, err := measured(ctx, helper, npmEnv, "npm", "pack", dir, "--json", "--ignore-scripts", "--pack-destination", outDir)
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

// measured runs a command through the helper's measure mode, so that its
// peak memory is its own (see internal/bench/benchpack), and returns the
// command's standard output and cost.
func measured(ctx context.Context, helper string, env []string, name string, args ...string) (string, Proc, error) {
	f, err := os.CreateTemp("", "bench-measure-*.json")
	if err != nil {
		return "", Proc{}, err
	}
	f.Close()
	defer os.Remove(f.Name())
	stdout, outer, err := run(ctx, "", env, helper, append([]string{"measure", "-report", f.Name(), "--", name}, args...)...)
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

// binaryLike writes size bytes of real executables, concatenated: the Go
// toolchain's, then this machine's /usr/bin and /usr/sbin, in name order,
// over again if they are not enough. Real machine code compresses as a
// release binary does (random bytes would not compress; zeros would
// compress far too well). It returns a description of the sources.
func binaryLike(dst string, size int64) (string, error) {
	goroot := runtime.GOROOT()
	dirs := []string{
		filepath.Join(goroot, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH),
		filepath.Join(goroot, "bin"),
		"/usr/bin", "/usr/sbin",
	}
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

// sameTar reports whether two .tgz files hold the same tar stream.
func sameTar(a, b string) (bool, error) {
	ha, err := tarDigest(a)
	if err != nil {
		return false, err
	}
	hb, err := tarDigest(b)
	if err != nil {
		return false, err
	}
	return ha == hb, nil
}

func tarDigest(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return sum, fmt.Errorf("bench: %s: %w", path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return sum, fmt.Errorf("bench: %s: %w", path, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// gzipLevels compresses the binary in memory with the toolkit's parallel
// gzip (same block size, all CPUs) at each level up to the toolkit's.
func gzipLevels(bin string) ([]Level, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var out []Level
	for lvl := 1; lvl <= tarball.Level; lvl++ {
		var n countWriter
		start := time.Now()
		zw, err := pgzip.NewWriterLevel(&n, lvl)
		if err != nil {
			return nil, err
		}
		if err := zw.SetConcurrency(1<<20, runtime.GOMAXPROCS(0)); err != nil {
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
