package artifact

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/platforms"
)

// Real Bun runtime binaries from pinned npm packages: testdata/bun holds a
// macOS build and a Windows build of Bun 1.3.14 (installed with npm ci
// --force, being for other platforms), and the Bun internal/build pins
// brings this machine's own build.

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
// for this machine.
func hostBun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "build", "testdata", "bun", "node_modules")
	// Bun's own install step moves the platform package's binary here.
	candidates := []string{filepath.Join(dir, "bun", "bin", "bun.exe")}
	platformBins, _ := filepath.Glob(filepath.Join(dir, "@oven", "bun-*", "bin", "bun*"))
	candidates = append(candidates, platformBins...)
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && st.Size() > 1<<20 {
			return p
		}
	}
	absent(t, candidates[0], "(cd internal/build/testdata/bun && npm ci --no-audit --no-fund)")
	return ""
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
		elfBin := hostBun(t)
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
