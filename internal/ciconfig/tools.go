package ciconfig

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Tools are the tool versions a repository pins, and where each came from
// (a file name, for the generated files' comments and for errors).
type Tools struct {
	// Bun is the exact Bun version: package.json's packageManager
	// ("bun@1.3.5"), else .tool-versions' bun line.
	Bun, BunFrom string
	// BunLock is Bun's lock file (bun.lock, or the older bun.lockb), whose
	// checksum keys the CircleCI cache of Bun's packages.
	BunLock string
	// Node is the Node.js version: .tool-versions (nodejs or node), else
	// .nvmrc or .node-version.
	Node, NodeFrom string
	// NPM is the npm version: .tool-versions' npm line.
	NPM, NPMFrom string
	// Go is go.mod's go version as major.minor ("1.26"), for the CircleCI
	// image.
	Go, GoFrom string
}

var (
	packageManagerRE = regexp.MustCompile(`^bun@([0-9][0-9A-Za-z.+-]*?)(\+.*)?$`)
	nodeRE           = regexp.MustCompile(`^v?([0-9]+(\.[0-9]+){0,2})$`)
	goDirectiveRE    = regexp.MustCompile(`(?m)^go\s+([0-9]+)\.([0-9]+)`)
)

// ReadTools reads the tool versions pinned in dir, the repository's root:
// package.json's packageManager, .tool-versions (asdf's and mise's file),
// .nvmrc or .node-version, and go.mod. A tool nothing pins stays empty; a
// pin that is not a version is an error naming the file.
func ReadTools(dir string) (Tools, error) {
	var t Tools
	read := func(name string) ([]byte, bool, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		return data, err == nil, err
	}

	if data, ok, err := read("package.json"); err != nil {
		return t, err
	} else if ok {
		var pkg struct {
			PackageManager string `json:"packageManager"`
		}
		if err := json.Unmarshal(data, &pkg); err != nil {
			return t, fmt.Errorf("%s: %v", filepath.Join(dir, "package.json"), err)
		}
		if pm := pkg.PackageManager; strings.HasPrefix(pm, "bun@") {
			m := packageManagerRE.FindStringSubmatch(pm)
			if m == nil {
				return t, fmt.Errorf("%s: packageManager %q does not pin an exact Bun version (bun@X.Y.Z)", filepath.Join(dir, "package.json"), pm)
			}
			t.Bun, t.BunFrom = m[1], "package.json packageManager"
		}
	}

	if data, ok, err := read(".tool-versions"); err != nil {
		return t, err
	} else if ok {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "bun":
				if t.Bun == "" {
					t.Bun, t.BunFrom = f[1], ".tool-versions"
				}
			case "nodejs", "node":
				t.Node, t.NodeFrom = strings.TrimPrefix(f[1], "v"), ".tool-versions"
			case "npm":
				t.NPM, t.NPMFrom = f[1], ".tool-versions"
			}
		}
	}

	if t.Node == "" {
		for _, name := range []string{".nvmrc", ".node-version"} {
			data, ok, err := read(name)
			if err != nil {
				return t, err
			}
			if v := strings.TrimSpace(string(data)); ok && nodeRE.MatchString(v) {
				t.Node, t.NodeFrom = strings.TrimPrefix(v, "v"), name
				break
			}
		}
	}

	if data, ok, err := read("go.mod"); err != nil {
		return t, err
	} else if ok {
		if m := goDirectiveRE.FindSubmatch(data); m != nil {
			t.Go, t.GoFrom = string(m[1])+"."+string(m[2]), "go.mod"
		}
	}

	t.BunLock = "bun.lock"
	if _, err := os.Stat(filepath.Join(dir, "bun.lockb")); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "bun.lock")); err != nil {
			t.BunLock = "bun.lockb"
		}
	}

	if t.Bun != "" {
		if _, err := semver.StrictNewVersion(t.Bun); err != nil {
			return t, fmt.Errorf("%s pins Bun %q: want an exact version such as 1.3.5", t.BunFrom, t.Bun)
		}
	}
	if t.Node != "" && !nodeRE.MatchString(t.Node) {
		return t, fmt.Errorf("%s pins Node.js %q: want a version such as 24 or 24.11.0", t.NodeFrom, t.Node)
	}
	if t.NPM != "" {
		v, err := semver.StrictNewVersion(t.NPM)
		if err != nil {
			return t, fmt.Errorf("%s pins npm %q: want an exact version such as %s", t.NPMFrom, t.NPM, minNPM)
		}
		if v.LessThan(minNPM) {
			return t, fmt.Errorf("%s pins npm %s, older than %s, which trusted publishing from CircleCI needs: pin %s or newer", t.NPMFrom, t.NPM, minNPM, minNPM)
		}
	}
	return t, nil
}
