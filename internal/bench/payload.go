package bench

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release/internal/tarball"
)

// The real payload of the packing pair: the Bun runtime that every
// `bun build --compile` CLI embeds (agent-facets' binaries are this runtime
// plus their bundle), from its npm package, at the Bun version
// internal/build/testdata/bun pins; TestPayloadPin keeps the two pins equal.
const (
	payloadPackage = "@oven/bun-linux-x64"
	payloadVersion = "1.4.4"
	// payloadIntegrity is the package tarball's dist.integrity, as in
	// internal/build/testdata/bun/package-lock.json.
	payloadIntegrity = "sha512-CHbbkmHVM28T1GFq+6GL4Ao4ujwwYwj1CxFFwEFzLanPfNsId9AhbIP0Q4reWuWBkGimUkoQygrK7Rgjtj3vog=="
	// payloadEntry is the runtime inside the package tarball.
	payloadEntry = tarball.Prefix + "bin/bun"
)

// pinnedBunDir is where the Bun that the tests pin lives: its package.json
// and package-lock.json, relative to the repository root.
const pinnedBunDir = "internal/build/testdata/bun"

// fetchTimeout bounds one npm call that downloads a package.
const fetchTimeout = 10 * time.Minute

// Payload is the real binary the packing pair packs.
type Payload struct {
	// Spec is the npm package it comes from, e.g. "@oven/bun-linux-x64@1.4.4".
	Spec string
	// Integrity is the package tarball's pinned integrity, checked.
	Integrity string
	// Binary is the runtime, extracted into the cache; Size its length.
	Binary string
	Size   int64
}

// fetchPayload returns the pinned payload, fetching it on first use into a
// directory of its own under cacheDir: `npm pack` of the pinned package
// (npm's own configuration for the registry, not the user's npmrc), the
// tarball's integrity checked against the pin, the runtime extracted. Several
// processes may call it at once: the check and the fetch run under a file
// lock.
func fetchPayload(ctx context.Context, cacheDir string) (*Payload, error) {
	return fetchPinned(ctx, cacheDir, payloadPackage, payloadVersion, payloadIntegrity, payloadEntry)
}

func fetchPinned(ctx context.Context, cacheDir, name, version, integrity, entry string) (*Payload, error) {
	spec := name + "@" + version
	sum := sha256.Sum256([]byte(spec + " " + integrity + " " + entry))
	dir := filepath.Join(cacheDir, "bench-payload-"+hex.EncodeToString(sum[:6]))
	p := &Payload{Spec: spec, Integrity: integrity, Binary: filepath.Join(dir, filepath.Base(entry))}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if st, err := os.Stat(p.Binary); err == nil && fileExists(filepath.Join(dir, ".fetched")) {
		p.Size = st.Size()
		return p, nil
	}
	npmEnv, err := ownNpmConfig(filepath.Join(dir, "npm"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	out, _, err := run(ctx, dir, npmEnv, "npm", "pack", spec, "--json", "--ignore-scripts", "--pack-destination", dir)
	if err != nil {
		return nil, fmt.Errorf("bench: fetch the real payload %s: %w", spec, err)
	}
	var packed []struct {
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal([]byte(out), &packed); err != nil || len(packed) != 1 {
		return nil, fmt.Errorf("bench: npm pack %s --json printed no result: %.200q", spec, out)
	}
	tgz := filepath.Join(dir, packed[0].Filename)
	defer os.Remove(tgz)
	if err := checkIntegrity(tgz, spec, integrity); err != nil {
		return nil, err
	}
	if p.Size, err = extract(tgz, entry, p.Binary); err != nil {
		return nil, err
	}
	os.RemoveAll(filepath.Join(dir, "npm"))
	if err := os.WriteFile(filepath.Join(dir, ".fetched"), []byte(spec+" "+integrity+"\n"), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// checkIntegrity fails unless the .tgz at path has the pinned integrity.
func checkIntegrity(path, spec, want string) error {
	info, err := tarball.Integrity(path)
	if err != nil {
		return fmt.Errorf("bench: the fetched %s: %w", spec, err)
	}
	if info.Integrity != want {
		return fmt.Errorf("bench: npm fetched %s with integrity %s, but the benchmark pins %s: the registry serves other bytes under that version; the pin is in internal/bench/payload.go", spec, info.Integrity, want)
	}
	return nil
}

// extract writes the regular file entry of the .tgz at path to dst, mode
// 0755, and returns its size.
func extract(path, entry, dst string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("bench: %s holds no %s", path, entry)
		}
		if err != nil {
			return 0, fmt.Errorf("bench: %s: %w", path, err)
		}
		if h.Name != entry || h.Typeflag != tar.TypeReg {
			continue
		}
		tmp := dst + ".tmp"
		out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != h.Size {
			err = fmt.Errorf("%s: %d of %d bytes", entry, n, h.Size)
		}
		if err != nil {
			os.Remove(tmp)
			return 0, fmt.Errorf("bench: extract %s: %w", entry, err)
		}
		return n, os.Rename(tmp, dst)
	}
}

// PinnedBun is the Bun that the tests pin, installed for this machine.
type PinnedBun struct {
	Version string
	Path    string
}

// installBun returns the Bun pinned in internal/build/testdata/bun, installed
// on first use with `npm ci` of that directory's lock file into a directory
// of its own under cacheDir (keyed by the lock file's hash), with npm's own
// configuration and no install scripts: the binary is the platform
// package's. It checks that the binary reports the pinned version.
func installBun(ctx context.Context, repoRoot, cacheDir string) (*PinnedBun, error) {
	src := filepath.Join(repoRoot, filepath.FromSlash(pinnedBunDir))
	pkgJSON, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("bench: the pinned Bun: %w", err)
	}
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		return nil, fmt.Errorf("bench: the pinned Bun: %w", err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(pkgJSON, &pkg); err != nil || pkg.Dependencies["bun"] == "" {
		return nil, fmt.Errorf("bench: %s/package.json pins no bun (%v)", pinnedBunDir, err)
	}
	b := &PinnedBun{Version: pkg.Dependencies["bun"]}
	sum := sha256.Sum256(append(append([]byte(nil), pkgJSON...), lock...))
	dir := filepath.Join(cacheDir, "bench-bun-"+hex.EncodeToString(sum[:6]))
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !fileExists(filepath.Join(dir, ".installed")) {
		for name, data := range map[string][]byte{"package.json": pkgJSON, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return nil, err
			}
		}
		npmEnv, err := ownNpmConfig(filepath.Join(dir, ".npm"))
		if err != nil {
			return nil, err
		}
		ictx, cancel := context.WithTimeout(ctx, fetchTimeout)
		_, _, err = run(ictx, dir, npmEnv, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
		cancel()
		if err != nil {
			return nil, fmt.Errorf("bench: install the pinned Bun %s in %s: %w", b.Version, dir, err)
		}
		os.RemoveAll(filepath.Join(dir, ".npm"))
		if err := os.WriteFile(filepath.Join(dir, ".installed"), []byte(b.Version+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	// The platform package npm chose for this machine holds the binary.
	candidates, _ := filepath.Glob(filepath.Join(dir, "node_modules", "@oven", "bun-*", "bin", "bun*"))
	var tried []string
	for _, c := range candidates {
		out, _, err := run(ctx, "", nil, c, "--version")
		if err == nil && strings.TrimSpace(out) == b.Version {
			b.Path = c
			return b, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %q %v", c, strings.TrimSpace(out), err))
	}
	return nil, fmt.Errorf("bench: no Bun %s that runs on this machine in %s (tried: %s); remove that directory to install it again",
		b.Version, dir, strings.Join(tried, "; "))
}

// ownNpmConfig writes an npm user and global configuration of its own under
// dir, with its own cache, so that npm reads neither the user's npmrc nor
// the user's cache; the registry is npm's own default.
func ownNpmConfig(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	user, global := filepath.Join(dir, "npmrc"), filepath.Join(dir, "global-npmrc")
	if err := os.WriteFile(user, []byte("fund=false\naudit=false\nupdate-notifier=false\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(global, nil, 0o600); err != nil {
		return nil, err
	}
	cache := filepath.Join(dir, "cache")
	return []string{
		"NPM_CONFIG_USERCONFIG=" + user, "npm_config_userconfig=" + user,
		"NPM_CONFIG_GLOBALCONFIG=" + global, "npm_config_globalconfig=" + global,
		"NPM_CONFIG_CACHE=" + cache, "npm_config_cache=" + cache,
	}, nil
}

// lockDir creates dir and holds a file lock in it until unlock is called.
func lockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: create %s: %w", dir, err)
	}
	l := flock.New(filepath.Join(dir, ".lock"))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("bench: lock %s: %w", dir, err)
	}
	return func() { l.Unlock() }, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
