package artifact

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/platforms"
)

// Real Bun runtime binaries from pinned npm packages: testdata/bun holds a
// macOS AVX2 build and a Windows baseline build of Bun 1.3.14 (a Bun that
// marks them; installed with npm ci --force, being for other platforms),
// and the Bun internal/build pins brings this machine's own build.

const installPayloads = "(cd internal/artifact/testdata/bun && npm ci --no-audit --no-fund --ignore-scripts --force)"

// absent skips the test when a payload is not installed, or fails it under
// CI, where .ci/run installs it.
func absent(t *testing.T, p, install string) {
	t.Helper()
	msg := fmt.Sprintf("the real Bun binary %s is not installed: run %s (.ci/run does)", p, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// payload returns the path of a file of an installed testdata/bun package.
func payload(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("testdata", "bun", "node_modules", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		absent(t, p, installPayloads)
	}
	return p
}

// hostBun returns the Bun binary that internal/build's pinned Bun installed
// for this machine, and its version.
func hostBun(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join("..", "build", "testdata", "bun", "node_modules")
	// Bun's own install step moves the platform package's binary here.
	candidates := []string{filepath.Join(dir, "bun", "bin", "bun.exe")}
	platformBins, _ := filepath.Glob(filepath.Join(dir, "@oven", "bun-*", "bin", "bun*"))
	candidates = append(candidates, platformBins...)
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && st.Size() > 1<<20 {
			var pkg struct{ Version string }
			b, err := os.ReadFile(filepath.Join(dir, "bun", "package.json"))
			if err == nil {
				err = json.Unmarshal(b, &pkg)
			}
			if err != nil || pkg.Version == "" {
				t.Fatalf("no version in %s: %v", filepath.Join(dir, "bun", "package.json"), err)
			}
			return p, pkg.Version
		}
	}
	absent(t, candidates[0], "(cd internal/build/testdata/bun && npm ci --no-audit --no-fund)")
	return "", ""
}

// cut copies the first n bytes of src (n < 0: all but the last -n) to a
// file named name in a temporary directory.
func cut(t *testing.T, src, name string, n int64, mode os.FileMode) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		n += st.Size()
	}
	dst := filepath.Join(t.TempDir(), name)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(out, in, n); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func lookup(t *testing.T, name string) platforms.Target {
	t.Helper()
	tg, err := platforms.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestBunFlavours: a Bun baseline build in an AVX2 package and an AVX2 build
// in a baseline package are refused; each in its own package passes, with
// no note, since the binary says what it is.
func TestBunFlavours(t *testing.T) {
	win := payload(t, "@oven/bun-windows-x64-baseline/bin/bun.exe")
	mac := payload(t, "@oven/bun-darwin-x64/bin/bun")
	bun := Build{Command: []string{"bun", "build", "--compile", "--target={bunTarget}", "--outfile", "{out}", "{entry}"}, Config: "release.json"}
	tests := []struct {
		name, bin, target string
		build, flavour    string
		want              string // "" = accepted
	}{
		{"windows baseline as windows-x64-baseline", win, "windows-x64-baseline", "Bun v1.3.14 (Windows x64 baseline)", Baseline, ""},
		{"windows baseline as windows-x64", win, "windows-x64", "Bun v1.3.14 (Windows x64 baseline)", Baseline,
			`is a baseline build (its Bun version string says "Bun v1.3.14 (Windows x64 baseline)") but target windows-x64 is the AVX2 build, for CPUs with AVX2; the baseline build belongs in windows-x64-baseline; rebuild it: ` +
				"`go tool mage build -target=windows-x64` runs build.command from release.json (`bun build --compile --target=bun-windows-x64 --outfile " + win + " {entry}`)"},
		{"macOS AVX2 as darwin-x64", mac, "darwin-x64", "Bun v1.3.14 (macOS x64)", AVX2, ""},
		{"macOS AVX2 as darwin-x64-baseline", mac, "darwin-x64-baseline", "Bun v1.3.14 (macOS x64)", AVX2,
			"is an AVX2 build (Bun v1.3.14 (macOS x64) carries the warning for CPUs without AVX that only Bun's AVX2 builds have) but target darwin-x64-baseline is for CPUs without AVX2, where it would stop with an illegal instruction; rebuild it: " +
				"`go tool mage build -target=darwin-x64-baseline` runs build.command from release.json (`bun build --compile --target=bun-darwin-x64-baseline --outfile " + mac + " {entry}`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.bin, lookup(t, tt.target), bun)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != "artifact "+tt.bin+": "+tt.want):
				t.Fatalf("Check = %v\nwant artifact %s: %s", err, tt.bin, tt.want)
			}
			if len(res.Notes) != 0 {
				t.Errorf("notes %q, want none", res.Notes)
			}
			if res.Kind.Build != tt.build || res.Kind.Flavour != tt.flavour {
				t.Errorf("Kind = %+v, want build %q, flavour %q", res.Kind, tt.build, tt.flavour)
			}
		})
	}
}

// TestPinnedBunSaysNoFlavour: the Bun internal/build pins (1.4.4) ships the
// same bytes in its AVX2 and baseline packages, and its version string
// names no flavour: the check passes it for both targets and says it could
// not tell.
func TestPinnedBunSaysNoFlavour(t *testing.T) {
	bin, version := hostBun(t)
	k, err := Describe(bin)
	if err != nil {
		t.Fatal(err)
	}
	host := platforms.DetectHost()
	osName := map[string]string{"linux": "Linux", "darwin": "macOS", "win32": "Windows"}[host.OS]
	if want := fmt.Sprintf("Bun v%s (%s %s)", version, osName, host.CPU); k.Build != want || k.Flavour != "" {
		t.Fatalf("Describe(%s) = %+v, want build %q and no flavour", bin, k, want)
	}
	for _, tgt := range host.Candidates() {
		t.Run(tgt.Name, func(t *testing.T) {
			res, err := Check(bin, tgt, Build{})
			if err != nil {
				t.Fatalf("Check = %v, want nil", err)
			}
			need := "CPUs with AVX2"
			if tgt.Baseline {
				need = "CPUs without AVX2"
			}
			var want []string
			if tgt.CPU == "x64" {
				want = []string{fmt.Sprintf("artifact %s: cannot tell whether it is an AVX2 or a baseline build: its Bun version string (%q) does not say; make sure it is the build for target %s (%s)", bin, k.Build, tgt.Name, need)}
			}
			if fmt.Sprint(res.Notes) != fmt.Sprint(want) {
				t.Errorf("notes = %q\nwant %q", res.Notes, want)
			}
		})
	}
}

// TestTruncatedBunBinaries: real Bun binaries cut short pass the headers'
// first reading, so only their extents tell; each is refused, naming the
// file, what points past its end, and to rebuild.
func TestTruncatedBunBinaries(t *testing.T) {
	win := payload(t, "@oven/bun-windows-x64-baseline/bin/bun.exe")
	mac := payload(t, "@oven/bun-darwin-x64/bin/bun")
	half := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size() / 2
	}
	type tcase struct {
		name, bin, file, target string
		keep                    int64
		want                    string
	}
	tests := []tcase{
		{"windows, half", win, "facet.exe", "windows-x64-baseline", half(win), "truncated: the data of section .text ends at byte "},
		{"windows, first 4 KiB", win, "facet.exe", "windows-x64-baseline", 4096, "truncated: the data of section .text ends at byte "},
		{"windows, last 4 KiB missing", win, "facet.exe", "windows-x64-baseline", -4096, "truncated: the certificate table (security directory) ends at byte "},
		{"macOS, last 4 KiB missing (code signature)", mac, "facet", "darwin-x64", -4096, "truncated: LC_CODE_SIGNATURE data (the code signature) ends at byte "},
		{"macOS, half", mac, "facet", "darwin-x64", half(mac), "truncated: section __TEXT,__text ends at byte "},
	}
	if host := platforms.DetectHost(); host.OS == "linux" {
		elfBin, _ := hostBun(t)
		tgt := host.Candidates()[0].Name
		tests = append(tests,
			tcase{"linux, last 4 KiB missing", elfBin, "facet", tgt, -4096, "truncated: the section header table ends at byte "},
			tcase{"linux, half", elfBin, "facet", tgt, half(elfBin), "truncated: the section header table ends at byte "},
		)
	}
	build := Build{Command: []string{"bun", "build", "--compile", "--target={bunTarget}", "--outfile", "{out}", "{entry}"}, Config: "release.json"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := lookup(t, tt.target)
			if _, err := Check(tt.bin, tgt, build); err != nil {
				t.Fatalf("the whole binary: Check = %v, want nil", err)
			}
			p := cut(t, tt.bin, tt.file, tt.keep, 0o755)
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Check(p, tgt, build)
			if err == nil {
				t.Fatalf("Check accepted %s cut to %d bytes", tt.bin, st.Size())
			}
			for _, part := range []string{
				"artifact " + p + ": " + tt.want,
				fmt.Sprintf(" but the file has only %d bytes: the file is incomplete (an interrupted build, copy or download); rebuild it: `go tool mage build -target=%s`", st.Size(), tgt.Name),
			} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
		})
	}
}

// TestWrongFormatBeforeMode: a real Windows binary without an x bit checked
// against a Linux target is the wrong format, not a chmod away from right.
func TestWrongFormatBeforeMode(t *testing.T) {
	win := payload(t, "@oven/bun-windows-x64-baseline/bin/bun.exe")
	p := copyFile(t, win, "facet", 0o644)
	_, err := Check(p, lookup(t, "linux-x64"), Build{})
	if want := "artifact " + p + ": is a PE x86-64 binary but target linux-x64 needs ELF x86-64; rebuild it for target linux-x64"; err == nil || err.Error() != want {
		t.Fatalf("Check = %v\nwant %s", err, want)
	}
	// Cut short as well: still the format first.
	short := cut(t, win, "facet", 4096, 0o644)
	_, err = Check(short, lookup(t, "linux-x64"), Build{})
	if want := "artifact " + short + ": is a PE x86-64 binary but target linux-x64 needs ELF x86-64"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Check = %v\nwant %s", err, want)
	}
}
