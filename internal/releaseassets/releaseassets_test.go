package releaseassets

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

const ver = "1.4.0"

func TestMain(m *testing.M) {
	code := m.Run()
	toolkittest.CleanupDemoBuilds()
	os.Exit(code)
}

// sources are the builds the default archives are made from.
var sources = []string{
	"darwin-arm64", "darwin-x64-baseline", "linux-arm64", "linux-arm64-musl",
	"linux-x64-baseline", "linux-x64-baseline-musl", "windows-arm64", "windows-x64-baseline",
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// demo returns an Env whose dist holds demo binaries of the sources.
func demo(t *testing.T, mutate func(*config.Config)) (*toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) {
		c.Targets = slices.Clone(sources)
		if mutate != nil {
			mutate(c)
		}
	})
	toolkittest.BuildDemo(t, cfg, ver, func(e *toolkit.Env) error {
		_, err := build.Build(context.Background(), e, e.Cfg.PlatformTargets(), ver)
		return err
	})
	return toolkittest.Env(t, cfg)
}

// run runs a program of the test machine in dir and returns its output.
func run(t *testing.T, e *toolkit.Env, dir, name string, args ...string) string {
	t.Helper()
	out, err := e.Run.Output(ctx(t), command.Cmd{Name: name, Args: args, Dir: dir})
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func need(t *testing.T, e *toolkit.Env, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := e.Run.LookPath(p); err != nil {
			t.Skipf("%s is not installed: %v", p, err)
		}
	}
}

// only returns the one file extracted into dir, failing unless there is
// exactly one.
func only(t *testing.T, dir string) (string, os.FileInfo) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("extracted %v, want exactly one file", files)
	}
	st, err := os.Lstat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return files[0], st
}

// TestArchives makes the default archives of agent-facets from demo
// binaries and checks them with the machine's own tools: sha256sum -c,
// tar, unzip and Python's zipfile; the archive for this machine runs.
func TestArchives(t *testing.T) {
	t.Parallel()
	e, out := demo(t, nil)
	need(t, e, "sha256sum", "tar", "unzip")
	res, recs, err := Make(ctx(t), e, ver)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var names []string
	for _, a := range res.Archives {
		names = append(names, a.Name)
	}
	want := []string{
		"facet-darwin-arm64.tar.gz", "facet-darwin-x64.tar.gz", "facet-linux-arm64-musl.tar.gz", "facet-linux-arm64.tar.gz",
		"facet-linux-x64-musl.tar.gz", "facet-linux-x64.tar.gz", "facet-windows-arm64.zip", "facet-windows-x64.zip",
	}
	if !slices.Equal(names, want) {
		t.Errorf("archives %v\nwant %v", names, want)
	}
	if len(recs) != 9 || recs[8].Package != "checksums.txt" || outcome.Count(recs, outcome.Published) != 9 {
		t.Errorf("records = %+v", recs)
	}

	check := run(t, e, res.Dir, "sha256sum", "-c", "checksums.txt")
	if strings.Count(check, ": OK\n") != len(want) {
		t.Errorf("sha256sum -c checksums.txt:\n%s", check)
	}
	sums, _ := os.ReadFile(res.Checksums)
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != len(want) {
		t.Errorf("checksums.txt:\n%s", sums)
	}
	for i, l := range lines {
		if !strings.HasSuffix(l, "  "+want[i]) {
			t.Errorf("line %d %q, want it for %s (sorted by name)", i, l, want[i])
		}
	}

	host := map[string]bool{}
	for _, c := range platforms.DetectHost().Candidates() {
		host[c.Name] = true
	}
	ran := false
	python, pyErr := e.Run.LookPath("python3")
	for _, a := range e.Cfg.ArchiveList() {
		name := Name("facet", a.Name, archive.FormatFor(a.From))
		path := filepath.Join(res.Dir, name)
		dest := t.TempDir()
		entry := a.From.BinaryName("facet")
		if strings.HasSuffix(name, ".zip") {
			run(t, e, dest, "unzip", "-q", path)
			if pyErr == nil {
				// Python's zipfile keeps Unix modes in external_attr; it must say 0755.
				got := run(t, e, "", python, "-c", "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);print(';'.join('%s %o' % (i.filename, i.external_attr>>16) for i in z.infolist()))", path)
				if strings.TrimSpace(got) != entry+" 100755" {
					t.Errorf("%s: zipfile sees %q", name, got)
				}
			}
		} else {
			run(t, e, dest, "tar", "-xzpf", path)
		}
		file, st := only(t, dest)
		if filepath.Base(file) != entry || filepath.Dir(file) != dest || st.Mode() != 0o755 {
			t.Errorf("%s extracts to %s, mode %v; want %s at the root, 0755", name, file, st.Mode(), entry)
		}
		orig, _ := os.ReadFile(e.Cfg.BinaryPath(a.From))
		got, _ := os.ReadFile(file)
		if sha256.Sum256(got) != sha256.Sum256(orig) {
			t.Errorf("%s holds other bytes than the %s binary", name, a.From.Name)
		}
		if host[a.From.Name] {
			if v := strings.TrimSpace(run(t, e, dest, file, "--version")); v != ver {
				t.Errorf("%s: facet --version printed %q, want %s", name, v, ver)
			}
			ran = true
		}
	}
	if !ran {
		t.Logf("no archive for this machine (%+v): none was run", platforms.DetectHost())
	}

	// A second run clears the directory and writes the same bytes.
	before := hashes(t, res.Dir)
	if err := os.WriteFile(filepath.Join(res.Dir, "facet-old.tar.gz"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, _ := toolkittest.Again(t, e)
	if _, _, err := Make(ctx(t), again, ver); err != nil {
		t.Fatal(err)
	}
	after := hashes(t, res.Dir)
	if len(after) != len(before) || after["facet-old.tar.gz"] != "" {
		t.Errorf("after a second run the directory holds %v", keys(after))
	}
	for n, h := range before {
		if after[n] != h {
			t.Errorf("%s changed between two runs", n)
		}
	}

	listed, _, err := Read(again, ver)
	if err != nil || len(listed) != len(want) || listed[0].Path != filepath.Join(res.Dir, want[0]) || listed[0].Size == 0 {
		t.Fatalf("Read = %+v, %v", listed, err)
	}
}

func hashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, en := range entries {
		_, sum, err := archive.SHA256File(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[en.Name()] = sum
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestMissingBinary: every missing binary is named with its target and the
// build command that makes it, and no archive and no checksums are written.
func TestMissingBinary(t *testing.T) {
	t.Parallel()
	e, out := demo(t, nil)
	for _, tg := range []string{"linux-arm64", "windows-x64-baseline"} {
		bt, _ := platforms.Lookup(tg)
		if err := os.Remove(e.Cfg.BinaryPath(bt)); err != nil {
			t.Fatal(err)
		}
	}
	res, recs, err := Make(ctx(t), e, ver)
	if err == nil {
		t.Fatal("Make succeeded without two binaries")
	}
	for _, w := range []string{
		"2 of 8 archives cannot be made",
		"facet-linux-arm64.tar.gz needs the linux-arm64 binary",
		"facet-windows-x64.zip needs the windows-x64-baseline binary",
		"go tool mage build -target=windows-x64-baseline",
		"go build -trimpath", // the configured build command
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if outcome.Count(recs, outcome.Failed) != 2 || !strings.Contains(out.String(), "✗ facet-linux-arm64.tar.gz needs") {
		t.Errorf("records %+v\n%s", recs, out)
	}
	if left, _ := os.ReadDir(res.Dir); len(left) != 0 {
		t.Errorf("the assets directory holds %v after a failed run", left)
	}
	if _, _, err := Read(e, ver); err == nil || !strings.Contains(err.Error(), "make the archives first") {
		t.Errorf("Read after a failed run: %v", err)
	}
}

// TestForeignDirectory: a directory that holds a directory is not cleared.
func TestForeignDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, _ := demo(t, func(c *config.Config) { c.Assets.Dir = dir })
	keep := filepath.Join(dir, "src")
	if err := os.Mkdir(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Make(ctx(t), e, ver)
	if err == nil || !strings.Contains(err.Error(), "holds src, which is not a file releaseAssets writes: nothing was removed") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file was removed: %v", err)
	}
}

// TestChangedArchive: Read refuses an archive whose bytes no longer match
// the checksums file, and a checksums file naming a path.
func TestChangedArchive(t *testing.T) {
	t.Parallel()
	e, _ := demo(t, func(c *config.Config) {
		c.Assets.Archives = map[string]string{"linux-arm64": "linux-arm64", "windows-arm64": "windows-arm64"}
	})
	res, _, err := Make(ctx(t), e, ver)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Archives) != 2 {
		t.Fatalf("archives = %+v", res.Archives)
	}
	f, err := os.OpenFile(res.Archives[1].Path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	if _, _, err := Read(e, ver); err == nil || !strings.Contains(err.Error(), "the archive changed after releaseAssets") {
		t.Errorf("Read of a changed archive: %v", err)
	}
	sum := strings.Repeat("0", 64)
	if err := os.WriteFile(res.Checksums, []byte(sum+"  ../../etc/passwd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(e, ver); err == nil || !strings.Contains(err.Error(), "which is not an archive in") {
		t.Errorf("Read of a checksums file naming a path: %v", err)
	}
}

// TestBinariesOfTheReleaseVersion: the archives go to the GitHub Release
// of a version under names without one, so a binary built at another
// version, or changed since its build, is refused as it is for npm, and
// nothing is written.
func TestBinariesOfTheReleaseVersion(t *testing.T) {
	t.Parallel()
	e, _ := demo(t, nil)
	arm, _ := platforms.Lookup("linux-arm64")
	if _, err := build.Build(ctx(t), e, []platforms.Target{arm}, "1.5.0"); err != nil {
		t.Fatal(err)
	}
	empty := func() {
		t.Helper()
		if left, _ := os.ReadDir(e.Cfg.AssetsDir()); len(left) != 0 {
			t.Errorf("the assets directory holds %v after a refusal", left)
		}
	}
	_, _, err := Make(ctx(t), e, ver)
	for _, w := range []string{"1 of 8 archives cannot be made", "facet-linux-arm64.tar.gz needs the linux-arm64 binary",
		"is not the linux-arm64 binary built at 1.4.0: it was built at 1.5.0", "go tool mage build -target=linux-arm64 -version=1.4.0"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Make at %s with linux-arm64 built at 1.5.0: error lacks %q: %v", ver, w, err)
		}
	}
	empty()
	// Without a version the manifest's must agree.
	_, _, err = Make(ctx(t), e, "")
	if err == nil || !strings.Contains(err.Error(), "built at different versions") || !strings.Contains(err.Error(), "linux-arm64 at 1.5.0") {
		t.Errorf("Make without a version, binaries at two versions: %v", err)
	}
	empty()
	if _, err := build.Build(ctx(t), e, []platforms.Target{arm}, ver); err != nil {
		t.Fatal(err)
	}
	res, _, err := Make(ctx(t), e, "")
	if err != nil || res.Version != ver || len(res.Archives) != 8 {
		t.Fatalf("Make without a version after the rebuild: version %q, %d archives, %v", res.Version, len(res.Archives), err)
	}
	// githubRelease reads them for their version only.
	if _, _, err := Read(e, ver); err != nil {
		t.Errorf("Read at %s: %v", ver, err)
	}
	if _, _, err := Read(e, "1.5.0"); err == nil || !strings.Contains(err.Error(), "hold the binaries of 1.4.0, not 1.5.0") {
		t.Errorf("Read at 1.5.0 of archives made at %s: %v", ver, err)
	}
	// A binary changed after its build.
	f, err := os.OpenFile(e.Cfg.BinaryPath(arm), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	if _, _, err := Make(ctx(t), e, ver); err == nil || !strings.Contains(err.Error(), "it changed since it was built") {
		t.Errorf("Make with a changed binary: %v", err)
	}
	empty()
}
