package tarball

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

const testManifest = `{"name":"@agent-facets/cli-linux-x64","version":"1.2.3","bin":{"facet":"bin/facet"},"os":["linux"],"cpu":["x64"]}`

// writeTree creates files under dir; a path ending in "*" is made executable.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// isBin says which files of the test packages are executables: those under
// bin/, as their bin entries would say.
func isBin(rel string) bool { return strings.HasPrefix(rel, "bin/") }

// testExecutable says which files of testPackage are executables: those
// marked so in it, as a packer told by the manifest would.
func testExecutable(rel string) bool {
	_, ok := testPackage[rel+"*"]
	return ok
}

// testPackage is a package directory with names that exercise npm's order
// (extensions, case, punctuation), a long path and executables.
var testPackage = map[string]string{
	"package.json":    testManifest,
	"README.md":       "# readme\n",
	"LICENSE":         "MIT\n",
	"bin/facet*":      "#!/bin/sh\necho facet-ok \"$@\"\n",
	"lib/a.js":        "a\n",
	"lib/B.js":        "b\n",
	"lib/_x.js":       "x\n",
	"lib/a-b.js":      "ab\n",
	"lib/a.b.js":      "a.b\n",
	"lib/A.JS":        "upper\n",
	"lib/10.js":       "ten\n",
	"lib/9.js":        "nine\n",
	"lib/empty.txt":   "",
	"Zeta.txt":        "z\n",
	"scripts/run.sh*": "#!/bin/sh\n",
	"docs/" + strings.Repeat("d", 60) + "/" + strings.Repeat("e", 50) + "/guide.md": strings.Repeat("guide ", 200),
}

func tarBytes(t *testing.T, tgz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteReadsBackWithArchiveTar(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, testPackage)
	files, err := FromDir(dir, testExecutable)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := Write(&buf, files)
	if err != nil {
		t.Fatal(err)
	}
	if info.EntryCount != len(testPackage) {
		t.Errorf("EntryCount = %d, want %d", info.EntryCount, len(testPackage))
	}
	var unpacked int64
	for _, c := range testPackage {
		unpacked += int64(len(c))
	}
	if info.UnpackedSize != unpacked {
		t.Errorf("UnpackedSize = %d, want %d", info.UnpackedSize, unpacked)
	}
	if info.Size != int64(buf.Len()) {
		t.Errorf("Size = %d, want %d", info.Size, buf.Len())
	}
	raw := buf.Bytes()
	// gzip header: no flags (no name), mtime 0, OS 255 (unknown).
	if raw[3] != 0 || !bytes.Equal(raw[4:8], []byte{0, 0, 0, 0}) || raw[9] != 255 {
		t.Errorf("gzip header % x: want FLG 0, MTIME 0, OS ff", raw[:10])
	}

	tr := tar.NewReader(bytes.NewReader(tarBytes(t, raw)))
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(h.Name, "package/")
		if !ok {
			t.Errorf("entry %q is not under package/", h.Name)
		}
		key := name
		wantMode := int64(0o644)
		if _, exec := testPackage[name+"*"]; exec {
			key, wantMode = name+"*", 0o755
		}
		want, ok := testPackage[key]
		if !ok {
			t.Errorf("unexpected entry %q", h.Name)
			continue
		}
		seen[key] = true
		if h.Mode != wantMode {
			t.Errorf("%s: mode %o, want %o", name, h.Mode, wantMode)
		}
		if !h.ModTime.Equal(npmMTime) {
			t.Errorf("%s: mtime %v, want %v", name, h.ModTime, npmMTime)
		}
		if h.Typeflag != tar.TypeReg || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: header %+v: want a regular file with no owner", name, h)
		}
		got, _ := io.ReadAll(tr)
		if string(got) != want {
			t.Errorf("%s: content %q, want %q", name, got, want)
		}
	}
	if len(seen) != len(testPackage) {
		t.Errorf("read %d entries, want %d", len(seen), len(testPackage))
	}
}

func TestDeterministic(t *testing.T) {
	// Several gzip blocks, so parallel compression really happens.
	big := filepath.Join(t.TempDir(), "facet")
	writeBinaryLike(t, big, 5<<20+123)
	files := []File{
		{Path: "package.json", Data: []byte(testManifest)},
		{Path: "bin/facet", Source: big, Mode: 0o755},
		{Path: "README.md", Data: []byte("readme")},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first []byte
	var firstInfo Info
	for _, procs := range []int{1, 2, 4, 16, 1} {
		runtime.GOMAXPROCS(procs)
		var buf bytes.Buffer
		info, err := Write(&buf, files)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first, firstInfo = buf.Bytes(), info
			continue
		}
		if !bytes.Equal(first, buf.Bytes()) || info != firstInfo {
			t.Fatalf("GOMAXPROCS=%d: output differs (%s vs %s)", procs, info.Integrity, firstInfo.Integrity)
		}
	}
	// The caller's order does not matter.
	reversed := []File{files[2], files[1], files[0]}
	var buf bytes.Buffer
	if _, err := Write(&buf, reversed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, buf.Bytes()) {
		t.Fatal("output depends on the order files are given in")
	}
}

func TestIntegrityMatchesIndependentHashes(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, filepath.Join(dir, "pkg"), testPackage)
	files, err := FromDir(filepath.Join(dir, "pkg"), testExecutable)
	if err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(dir, "out.tgz")
	info, err := Create(tgz, files)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	s512 := sha512.Sum512(raw)
	s1 := sha1.Sum(raw)
	if want := "sha512-" + base64.StdEncoding.EncodeToString(s512[:]); info.Integrity != want {
		t.Errorf("Integrity = %s, want %s", info.Integrity, want)
	}
	if want := hex.EncodeToString(s1[:]); info.Shasum != want {
		t.Errorf("Shasum = %s, want %s", info.Shasum, want)
	}
	read, err := Integrity(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if read != info {
		t.Errorf("Integrity(file) = %+v, want what Create returned: %+v", read, info)
	}
}

func TestIntegrityRejectsNonTarball(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.tgz")
	os.WriteFile(p, []byte("not gzip"), 0o644)
	if _, err := Integrity(p); err == nil || !strings.Contains(err.Error(), "not a gzip file") {
		t.Fatalf("err = %v, want a 'not a gzip file' error", err)
	}
	if _, err := Integrity(filepath.Join(t.TempDir(), "missing.tgz")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "p.tgz")
	if _, err := Create(tgz, []File{
		{Path: "a.txt", Data: []byte("a")},
		{Path: "package.json", Data: []byte("  " + testManifest + "\n")},
	}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(tgz)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Name, Version string }
	if err := json.Unmarshal(m, &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "@agent-facets/cli-linux-x64" || got.Version != "1.2.3" {
		t.Errorf("manifest = %+v", got)
	}

	// A tarball without package.json (written by hand) is refused.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "package/x.txt", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	zw.Close()
	bad := filepath.Join(dir, "bad.tgz")
	os.WriteFile(bad, buf.Bytes(), 0o644)
	if _, err := ReadManifest(bad); err == nil || !strings.Contains(err.Error(), "has no package/package.json") {
		t.Fatalf("err = %v, want 'has no package/package.json'", err)
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	manifest := File{Path: "package.json", Data: []byte("{}")}
	tests := []struct {
		name  string
		files []File
		want  string
	}{
		{"no manifest", []File{{Path: "a.js", Data: []byte("a")}}, "no package.json"},
		{"empty path", []File{manifest, {Path: ""}}, "empty path"},
		{"absolute", []File{manifest, {Path: "/etc/passwd"}}, "is absolute"},
		{"backslash", []File{manifest, {Path: `bin\facet`}}, "backslash"},
		{"dot-dot", []File{manifest, {Path: "../x"}}, "not a clean path"},
		{"unclean", []File{manifest, {Path: "bin//facet"}}, "not a clean path"},
		{"prefixed", []File{manifest, {Path: "package/x"}}, "leave the prefix out"},
		{"duplicate", []File{manifest, manifest}, "listed twice"},
		{"both sources", []File{manifest, {Path: "x", Source: "/x", Data: []byte("x")}}, "both Source"},
		{"non-ascii", []File{manifest, {Path: "café.js", Data: []byte("x")}}, "only printable ASCII"},
		{"too long", []File{manifest, {Path: strings.Repeat("x", 120), Data: []byte("x")}}, "too long"},
		{"missing source", []File{manifest, {Path: "bin/facet", Source: "/nonexistent/facet"}}, "bin/facet"},
		{"directory source", []File{manifest, {Path: "bin/facet", Source: os.TempDir()}}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Write(io.Discard, tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCreateIsAtomic(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "p.tgz")
	good := []File{{Path: "package.json", Data: []byte(testManifest)}}
	first, err := Create(dst, good)
	if err != nil {
		t.Fatal(err)
	}
	// A failing write leaves the previous tarball alone and no temp file.
	_, err = Create(dst, append(good, File{Path: "bin/facet", Source: filepath.Join(dir, "missing")}))
	if err == nil || !strings.Contains(err.Error(), dst) {
		t.Fatalf("err = %v, want an error naming %s", err, dst)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "p.tgz" {
		t.Fatalf("directory holds %v, want only p.tgz", entries)
	}
	again, err := Integrity(dst)
	if err != nil || again != first {
		t.Fatalf("Integrity after failed Create = %+v, %v; want %+v", again, err, first)
	}
	st, _ := os.Stat(dst)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("tarball mode %v, want 0644", st.Mode().Perm())
	}
}

func TestFromDir(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"package.json": "{}", "bin/facet": "x", "tool.sh*": "y"})
	files, err := FromDir(dir, func(rel string) bool { return rel == "bin/facet" })
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{}
	for _, f := range files {
		modes[f.Path] = f.Mode
		if f.Source != filepath.Join(dir, filepath.FromSlash(f.Path)) {
			t.Errorf("%s: Source %s", f.Path, f.Source)
		}
	}
	want := map[string]os.FileMode{"package.json": 0o644, "bin/facet": 0o755, "tool.sh": 0o644}
	if len(modes) != len(want) {
		t.Fatalf("files %v, want %v", modes, want)
	}
	for p, m := range want {
		if modes[p] != m {
			t.Errorf("%s: mode %o, want %o", p, modes[p], m)
		}
	}

	if err := os.Symlink("package.json", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	_, err = FromDir(dir, isBin)
	if err == nil || !strings.Contains(err.Error(), "link.json is a symbolic link") {
		t.Fatalf("err = %v, want a symbolic link error", err)
	}
	if _, err := FromDir(filepath.Join(dir, "nope"), isBin); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

// TestModesComeFromThePackageNotTheDisk: a tree whose execute bits are
// wrong (lost on a Windows checkout, or set on every file) packs to the
// same bytes as one whose bits are right.
func TestModesComeFromThePackageNotTheDisk(t *testing.T) {
	pack := func(files map[string]string) []byte {
		dir := t.TempDir()
		writeTree(t, dir, files)
		fs, err := FromDir(dir, isBin)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := Write(&buf, fs); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	right := pack(map[string]string{"package.json": "{}", "bin/facet*": "x", "README.md": "r"})
	lost := pack(map[string]string{"package.json": "{}", "bin/facet": "x", "README.md": "r"})
	stray := pack(map[string]string{"package.json*": "{}", "bin/facet*": "x", "README.md*": "r"})
	if !bytes.Equal(right, lost) || !bytes.Equal(right, stray) {
		t.Fatal("the bytes depend on the modes on disk")
	}
	modes := map[string]int64{}
	tr := tar.NewReader(bytes.NewReader(tarBytes(t, right)))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		modes[h.Name] = h.Mode
	}
	if modes["package/bin/facet"] != 0o755 || modes["package/README.md"] != 0o644 || modes["package/package.json"] != 0o644 {
		t.Errorf("modes %v", modes)
	}
	if _, err := FromDir(t.TempDir(), nil); err == nil {
		t.Error("FromDir without a rule for executables took the modes from the disk")
	}
}

func TestOrderMatchesLocaleCompare(t *testing.T) {
	tests := []struct{ a, b string }{
		{"bin/facet", "lib/a.js"},     // "" < ".js"
		{"lib/a.js", "lib/B.js"},      // case-insensitive base
		{"package.json", "README.md"}, // .json < .md
		{"lib/a.js", "lib/A.js"},      // lower case first on a tie
		{"lib/_x.js", "lib/a-b.js"},   // punctuation before letters
		{"lib/10.js", "lib/9.js"},     // digit by digit
		{"a/x.js", "b/x.js"},          // same base: whole path
		{".npmignore", "a.js"},        // a leading dot is no extension
		{"lib/a b.js", "lib/a_b.js"},  // space, underscore, hyphen, dot
		{"lib/a_b.js", "lib/a-b.js"},
		{"lib/a-b.js", "lib/a.b.js"},
	}
	for _, tt := range tests {
		if !less(tt.a, tt.b) || less(tt.b, tt.a) {
			t.Errorf("want %q before %q", tt.a, tt.b)
		}
	}
	exts := map[string]string{".npmignore": "", "a.": ".", "a.b.c": ".c", "..x": ".x", "...": ".", "LICENSE": "", "d/.a.b": ".b"}
	for in, want := range exts {
		if got := extname(in); got != want {
			t.Errorf("extname(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderFields(t *testing.T) {
	h, err := header("package/bin/facet", 0o755, 18, npmMTime.Unix())
	if err != nil {
		t.Fatal(err)
	}
	// Byte layout observed in `npm pack` output (node-tar, portable mode).
	for _, f := range []struct {
		off  int
		want string
	}{
		{100, "000755 \x00"},
		{108, strings.Repeat("\x00", 16)},
		{124, "0000000022 \x00"},
		{136, "3560116604 \x00"},
		{156, "0"},
		{257, "ustar\x0000"},
		{265, strings.Repeat("\x00", 64)},
		{329, "000000 \x00000000 \x00"},
	} {
		if got := string(h[f.off : f.off+len(f.want)]); got != f.want {
			t.Errorf("offset %d: %q, want %q", f.off, got, f.want)
		}
	}
	if got := string(h[148:156]); got != "011032 \x00" {
		t.Errorf("checksum %q, want %q (what npm pack writes for this entry)", got, "011032 \x00")
	}
}

// writeBinaryLike writes n bytes that compress about as well as an
// executable: runs of structured records mixed with random bytes.
func writeBinaryLike(tb testing.TB, path string, n int64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 64<<10)
	for written := int64(0); written < n; {
		for i := 0; i < len(chunk); {
			switch r.IntN(3) {
			case 0: // random run
				l := min(r.IntN(64)+1, len(chunk)-i)
				for j := range l {
					chunk[i+j] = byte(r.Uint32())
				}
				i += l
			default: // structured little-endian words
				l := min(r.IntN(128)+8, len(chunk)-i)
				base := r.Uint32() & 0xffff
				for j := range l {
					chunk[i+j] = byte(base + uint32(j/4))
					if j%4 >= 2 {
						chunk[i+j] = 0
					}
				}
				i += l
			}
		}
		w := min(int64(len(chunk)), n-written)
		if _, err := f.Write(chunk[:w]); err != nil {
			tb.Fatal(err)
		}
		written += w
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteReportsWriterErrors(t *testing.T) {
	big := filepath.Join(t.TempDir(), "facet")
	writeBinaryLike(t, big, 3<<20)
	files := []File{{Path: "package.json", Data: []byte("{}")}, {Path: "bin/facet", Source: big, Mode: 0o755}}
	for _, after := range []int{0, 100, 300 << 10} {
		_, err := Write(&failingWriter{after: after}, files)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("failing after %d bytes: err = %v, want the writer's error", after, err)
		}
	}
}

// TestWriteRoot: a standalone archive has its files at the root, needs no
// package.json, and is written by the same rules as an npm tarball.
func TestWriteRoot(t *testing.T) {
	t.Parallel()
	files := []File{{Path: "facet", Data: []byte("#!/bin/sh\necho hi\n"), Mode: 0o700}}
	var a, b bytes.Buffer
	infoA, err := WriteRoot(&a, files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteRoot(&b, files); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || infoA.EntryCount != 1 || infoA.Size != int64(a.Len()) {
		t.Errorf("two writes differ, or info %+v", infoA)
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(zr).Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "facet" || h.Mode != 0o755 || !h.ModTime.Equal(MTime) {
		t.Errorf("entry %q mode %o mtime %v", h.Name, h.Mode, h.ModTime)
	}
	if _, err := Write(io.Discard, files); err == nil {
		t.Error("Write (an npm package) accepted files without package.json")
	}
}
