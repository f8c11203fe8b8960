package tarball

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// npmCmd runs npm with a private configuration and cache, offline, with a
// loopback registry that nothing listens on, so it never reaches a network.
func npmCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed")
	}
	home := t.TempDir()
	for _, f := range []string{"npmrc", "globalnpmrc"} {
		if err := os.WriteFile(filepath.Join(home, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"NPM_CONFIG_USERCONFIG="+filepath.Join(home, "npmrc"),
		"NPM_CONFIG_GLOBALCONFIG="+filepath.Join(home, "globalnpmrc"),
		"NPM_CONFIG_CACHE="+filepath.Join(home, "cache"),
		"NPM_CONFIG_REGISTRY=http://127.0.0.1:9/",
		"NPM_CONFIG_OFFLINE=true",
		"NPM_CONFIG_AUDIT=false",
		"NPM_CONFIG_FUND=false",
		"NPM_CONFIG_UPDATE_NOTIFIER=false",
		"NPM_CONFIG_IGNORE_SCRIPTS=true",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestTarStreamMatchesNpmPack checks that, once decompressed, our tarball is
// byte for byte the tar stream `npm pack` writes for the same directory:
// same entries, order, modes, header encoding and end-of-archive.
func TestTarStreamMatchesNpmPack(t *testing.T) {
	work := t.TempDir()
	pkg := filepath.Join(work, "pkg")
	writeTree(t, pkg, testPackage)

	out := npmCmd(t, pkg, "pack", "--json", "--pack-destination", work)
	var packed []struct {
		Filename  string `json:"filename"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
		Size      int64  `json:"size"`
		Unpacked  int64  `json:"unpackedSize"`
		EntryCnt  int    `json:"entryCount"`
	}
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 {
		t.Fatalf("npm pack --json: %v\n%s", err, out)
	}
	npmTgz, err := os.ReadFile(filepath.Join(work, packed[0].Filename))
	if err != nil {
		t.Fatal(err)
	}

	files, err := FromDir(pkg, testExecutable)
	if err != nil {
		t.Fatal(err)
	}
	var ours bytes.Buffer
	info, err := Write(&ours, files)
	if err != nil {
		t.Fatal(err)
	}
	if info.UnpackedSize != packed[0].Unpacked || info.EntryCount != packed[0].EntryCnt {
		t.Errorf("unpacked %d bytes in %d files; npm pack says %d in %d",
			info.UnpackedSize, info.EntryCount, packed[0].Unpacked, packed[0].EntryCnt)
	}
	want, got := tarBytes(t, npmTgz), tarBytes(t, ours.Bytes())
	if !bytes.Equal(got, want) {
		t.Errorf("tar stream differs from npm pack's (%d vs %d bytes)\nours: %s\nnpm:  %s",
			len(got), len(want), entryNames(got), entryNames(want))
	}
	// Same tar stream: integrity differs only because the gzip layer does.
	npmInfo, err := Integrity(filepath.Join(work, packed[0].Filename))
	if err != nil {
		t.Fatal(err)
	}
	if npmInfo.Integrity != packed[0].Integrity || npmInfo.Shasum != packed[0].Shasum || npmInfo.Size != packed[0].Size {
		t.Errorf("Integrity(npm's tarball) = %+v; npm pack reported %+v", npmInfo, packed[0])
	}
}

// entryNames lists the header names of a raw tar stream, for messages.
func entryNames(tarStream []byte) string {
	var names []string
	for off := 0; off+blockSize <= len(tarStream); {
		h := tarStream[off : off+blockSize]
		if h[0] == 0 {
			break
		}
		name := strings.TrimRight(string(h[:100]), "\x00")
		if p := strings.TrimRight(string(h[345:500]), "\x00"); p != "" {
			name = p + "/" + name
		}
		names = append(names, name)
		var size int64
		for _, c := range strings.TrimSpace(strings.TrimRight(string(h[124:136]), "\x00")) {
			size = size*8 + int64(c-'0')
		}
		off += blockSize + int(size+blockSize-1)/blockSize*blockSize
	}
	return strings.Join(names, ", ")
}

// TestNpmInstallsTarball installs our tarball with the real npm CLI into a
// fresh project and runs the installed bin.
func TestNpmInstallsTarball(t *testing.T) {
	work := t.TempDir()
	pkg := filepath.Join(work, "pkg")
	writeTree(t, pkg, map[string]string{
		"package.json": testManifest,
		"bin/facet":    "#!/bin/sh\necho facet-ok \"$@\"\n",
		"README.md":    "# facet\n",
	})
	files, err := FromDir(pkg, func(rel string) bool { return rel == "bin/facet" })
	if err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(work, "facet-1.2.3.tgz")
	info, err := Create(tgz, files)
	if err != nil {
		t.Fatal(err)
	}

	project := filepath.Join(work, "project")
	writeTree(t, project, map[string]string{"package.json": `{"name":"consumer","version":"1.0.0","private":true}`})
	npmCmd(t, project, "install", "--force", tgz)

	installed := filepath.Join(project, "node_modules", "@agent-facets", "cli-linux-x64", "bin", "facet")
	st, err := os.Stat(installed)
	if err != nil {
		t.Fatalf("installed bin: %v", err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		t.Errorf("installed bin mode %v: not executable", st.Mode())
	}
	out, err := exec.Command(filepath.Join(project, "node_modules", ".bin", "facet"), "x").Output()
	if err != nil || strings.TrimSpace(string(out)) != "facet-ok x" {
		t.Errorf("running the installed bin: %q, %v", out, err)
	}

	// npm records the integrity it computed for the local tarball in the lockfile.
	lock, err := os.ReadFile(filepath.Join(project, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]struct{ Integrity string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	if got := l.Packages["node_modules/@agent-facets/cli-linux-x64"].Integrity; got != info.Integrity {
		t.Errorf("npm's lockfile integrity %q, ours %q", got, info.Integrity)
	}
}

// TestOrderMatchesNode sorts awkward names with npm-packlist's comparison
// run by Node and checks that less agrees.
func TestOrderMatchesNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	names := []string{
		"package.json", "README.md", "readme.md", "LICENSE", "license", "CHANGELOG.md",
		"bin/facet", "bin/facet.exe", "bin/Facet", "lib/index.js", "lib/index.d.ts",
		"lib/a.js", "lib/A.js", "lib/b.JS", "lib/_a.js", "lib/-a.js", "lib/a-b.js", "lib/a_b.js",
		"lib/a.b.js", "lib/a b.js", "lib/1.js", "lib/10.js", "lib/9.js", "lib/a1.js", "lib/aa.js",
		".npmignore", "x/.eslintrc", "x/.eslintrc.json", "a.", "x..", "...", "lib/~a.js",
		"lib/(a).js", "lib/[a].js", "lib/{a}.js", "lib/@a.js", "lib/$a.js", "lib/+a.js",
		"lib/=a.js", "lib/#a.js", "lib/%a.js", "lib/&a.js", "lib/'a.js", "lib/!a.js",
		"lib/,a.js", "lib/;a.js", "lib/^a.js", "lib/`a.js", "z/y/x.md", "a/b/c.md", "A/b/c.md",
	}
	script := `
const {extname, basename} = require('path');
const sort = (a, b) => {
  const exta = extname(a).toLowerCase(), extb = extname(b).toLowerCase();
  const basea = basename(a).toLowerCase(), baseb = basename(b).toLowerCase();
  return exta.localeCompare(extb, 'en') || basea.localeCompare(baseb, 'en') || a.localeCompare(b, 'en');
};
const names = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(names.sort(sort)));`
	in, _ := json.Marshal(names)
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	got := append([]string(nil), names...)
	sort.Slice(got, func(i, j int) bool { return less(got[i], got[j]) })
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("order differs from Node's\nours: %q\nnode: %q", got, want)
	}
}
