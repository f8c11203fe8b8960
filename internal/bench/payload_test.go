package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestPayloadPin checks that the real payload is the Bun runtime at the
// version and integrity internal/build/testdata/bun pins.
func TestPayloadPin(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(toolkittest.RepoRoot(), filepath.FromSlash(pinnedBunDir), "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct{ Version, Integrity string }
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatal(err)
	}
	if got := lock.Packages["node_modules/bun"].Version; got != payloadVersion {
		t.Errorf("%s pins bun %s; the payload is %s", pinnedBunDir, got, payloadVersion)
	}
	got := lock.Packages["node_modules/"+payloadPackage]
	if got.Version != payloadVersion || got.Integrity != payloadIntegrity {
		t.Errorf("%s pins %s %s %s; the payload is %s %s", pinnedBunDir, payloadPackage, got.Version, got.Integrity, payloadVersion, payloadIntegrity)
	}
}

// TestPayloadCheckAndExtract checks a fetched tarball against a pinned
// integrity (a wrong one is refused, naming both) and extracts its entry.
func TestPayloadCheckAndExtract(t *testing.T) {
	dir := t.TempDir()
	bun := bytes.Repeat([]byte("\x7fELF runtime "), 10000)
	tgz := filepath.Join(dir, "p.tgz")
	info, err := tarball.Create(tgz, []tarball.File{
		{Path: "package.json", Data: []byte(`{"name":"p","version":"1.0.0"}`)},
		{Path: "README.md", Data: []byte("# p\n")},
		{Path: "bin/bun", Data: bun, Mode: 0o755},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkIntegrity(tgz, "p@1.0.0", info.Integrity); err != nil {
		t.Errorf("the right integrity is refused: %v", err)
	}
	wrong := "sha512-" + strings.Repeat("A", 86) + "=="
	err = checkIntegrity(tgz, "p@1.0.0", wrong)
	if err == nil || !strings.Contains(err.Error(), info.Integrity) || !strings.Contains(err.Error(), wrong) {
		t.Errorf("a wrong integrity: %v", err)
	}
	dst := filepath.Join(dir, "bun")
	n, err := extract(tgz, payloadEntry, dst)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || n != int64(len(bun)) || !bytes.Equal(got, bun) {
		t.Errorf("extracted %d bytes (%v), want the %d of bin/bun", n, err, len(bun))
	}
	if st, _ := os.Stat(dst); st == nil || (runtime.GOOS != "windows" && st.Mode().Perm()&0o100 == 0) {
		t.Errorf("extracted binary is not executable: %v", st)
	}
	if _, err := extract(tgz, tarball.Prefix+"bin/missing", filepath.Join(dir, "x")); err == nil {
		t.Error("extracting a missing entry did not fail")
	}
}
