package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/platforms"
)

// binary writes a file of n pseudo-random (but fixed) bytes.
func binary(t *testing.T, n int) string {
	t.Helper()
	data := make([]byte, n)
	x := uint32(7)
	for i := range data {
		x = x*1664525 + 1013904223
		data[i] = byte(x >> 24)
		if i%3 == 0 {
			data[i] = 'a' // compressible
		}
	}
	p := filepath.Join(t.TempDir(), "facet")
	if err := os.WriteFile(p, data, 0o600); err != nil { // not executable on disk
		t.Fatal(err)
	}
	return p
}

func TestFormatFor(t *testing.T) {
	t.Parallel()
	for _, tg := range platforms.Table {
		want := TarGz
		if tg.GOOS == "windows" {
			want = Zip
		}
		if got := FormatFor(tg); got != want {
			t.Errorf("%s: %s, want %s", tg.Name, got, want)
		}
	}
}

func TestTarGz(t *testing.T) {
	t.Parallel()
	src := binary(t, 3<<20)
	want, _ := os.ReadFile(src)
	var buf bytes.Buffer
	n, sum, err := Write(&buf, TarGz, "facet", src)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || len(sum) != 64 {
		t.Errorf("size %d (wrote %d), sha256 %q", n, buf.Len(), sum)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Mode != 0o755 || h.Typeflag != tar.TypeReg || !h.ModTime.Equal(tarball.MTime) || h.Uid != 0 || h.Uname != "" {
			t.Errorf("%s: mode %o, type %c, mtime %v, uid %d, uname %q", h.Name, h.Mode, h.Typeflag, h.ModTime, h.Uid, h.Uname)
		}
		got, _ := io.ReadAll(tr)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: contents differ from the binary", h.Name)
		}
	}
	if strings.Join(names, ",") != "facet" {
		t.Errorf("entries = %v, want [facet] at the root", names)
	}
}

func TestZip(t *testing.T) {
	t.Parallel()
	src := binary(t, 3<<20)
	want, _ := os.ReadFile(src)
	var buf bytes.Buffer
	n, _, err := Write(&buf, Zip, "facet.exe", src)
	if err != nil {
		t.Fatal(err)
	}
	if n >= int64(len(want)) {
		t.Errorf("zip of %d bytes is %d bytes: not compressed", len(want), n)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("%d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "facet.exe" || f.Mode() != 0o755 || f.CreatorVersion>>8 != 3 || f.Method != zip.Deflate || !f.Modified.Equal(tarball.MTime) {
		t.Errorf("entry %s: mode %v, creator %d, method %d, modified %v", f.Name, f.Mode(), f.CreatorVersion>>8, f.Method, f.Modified)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, want) {
		t.Error("contents differ from the binary")
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	src := binary(t, 2<<20)
	for _, f := range []Format{TarGz, Zip} {
		dir := t.TempDir()
		a, err := Create(filepath.Join(dir, "a"+string(f)), f, "facet", src)
		if err != nil {
			t.Fatal(err)
		}
		// The same binary elsewhere, with another mode and mtime on disk.
		other := filepath.Join(t.TempDir(), "copy")
		data, _ := os.ReadFile(src)
		if err := os.WriteFile(other, data, 0o777); err != nil {
			t.Fatal(err)
		}
		b, err := Create(filepath.Join(dir, "b"+string(f)), f, "facet", other)
		if err != nil {
			t.Fatal(err)
		}
		ab, _ := os.ReadFile(a.Path)
		bb, _ := os.ReadFile(b.Path)
		if !bytes.Equal(ab, bb) || a.SHA256 != b.SHA256 {
			t.Errorf("%s: two archives of the same binary differ (%s, %s)", f, a.SHA256, b.SHA256)
		}
		if n, sum, err := SHA256File(a.Path); err != nil || sum != a.SHA256 || n != a.Size {
			t.Errorf("%s: SHA256File = %d %s %v, Create said %d %s", f, n, sum, err, a.Size, a.SHA256)
		}
		if st, _ := os.Stat(a.Path); st.Mode().Perm() != 0o644 {
			t.Errorf("%s: archive file mode %v", f, st.Mode())
		}
		left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
		if len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	src := binary(t, 10)
	for _, tc := range []struct {
		name, entry, src string
		f                Format
		want             string
	}{
		{"entry with a path", "bin/facet", src, TarGz, "plain file name"},
		{"missing binary", "facet", filepath.Join(t.TempDir(), "nope"), TarGz, "no such file"},
		{"directory", "facet", t.TempDir(), Zip, "not a regular file"},
		{"unknown format", "facet", src, Format(".rar"), "unknown format"},
	} {
		if _, _, err := Write(io.Discard, tc.f, tc.entry, tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "x.tar.gz"), TarGz, "facet", filepath.Join(dir, "missing")); err == nil {
		t.Error("Create of a missing binary succeeded")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed Create left %v", left)
	}
}

func TestChecksums(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	got := string(Checksums([]Info{{Name: "facet-windows-x64.zip", SHA256: b}, {Name: "facet-darwin-arm64.tar.gz", SHA256: a}}))
	want := a + "  facet-darwin-arm64.tar.gz\n" + b + "  facet-windows-x64.zip\n"
	if got != want {
		t.Errorf("Checksums =\n%s\nwant\n%s", got, want)
	}
	m, err := ParseChecksums([]byte(got + "\n" + a + " *binary-mode.zip\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || m["facet-darwin-arm64.tar.gz"] != a || m["facet-windows-x64.zip"] != b || m["binary-mode.zip"] != a {
		t.Errorf("ParseChecksums = %v", m)
	}
	if _, err := ParseChecksums([]byte("xyz  facet.zip\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad line: err = %v", err)
	}
}
