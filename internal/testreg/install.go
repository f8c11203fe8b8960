package testreg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// installTimeout bounds `npm ci` of the pinned Verdaccio.
const installTimeout = 5 * time.Minute

// installMarker is written into node_modules after a successful `npm ci`; it
// holds the SHA-256 of the package-lock.json that was installed, so a bumped
// lock file triggers a fresh install.
const installMarker = ".testreg-installed"

// VerdaccioDir returns the directory holding the pinned Verdaccio
// (package.json, package-lock.json and, once installed, node_modules).
func VerdaccioDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "verdaccio")
		if fileExists(filepath.Join(dir, "package.json")) {
			return dir, nil
		}
	}
	// Built with -trimpath: look for the module root above the working directory.
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testreg: find the verdaccio directory: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "internal", "testreg", "verdaccio")
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(candidate, "package.json")) {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", fmt.Errorf("testreg: internal/testreg/verdaccio/package.json not found above %s; run the tests from inside the module", wd)
}

func verdaccioBin(dir string) string {
	return filepath.Join(dir, "node_modules", ".bin", "verdaccio")
}

// EnsureInstalled installs the pinned Verdaccio with `npm ci` into
// internal/testreg/verdaccio/node_modules unless it is already there. It is
// safe to call from several processes at once: the check and the install run
// under a file lock. CI and build scripts may call it ahead of the tests.
func EnsureInstalled() error {
	if installedOnce.Load() {
		return nil
	}
	dir, err := VerdaccioDir()
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("testreg: open install lock in %s: %w", dir, err)
	}
	defer lock.Close()

	// A shared lock is enough to look; installing needs the exclusive one.
	if err := flock(lock, syscall.LOCK_SH); err != nil {
		return err
	}
	ok, err := installed(dir)
	_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if err != nil {
		return err
	}
	if ok {
		installedOnce.Store(true)
		return nil
	}

	if err := flock(lock, syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	ok, err = installed(dir) // another process may have installed it meanwhile
	if err == nil && !ok {
		err = npmCI(dir)
	}
	if err == nil {
		installedOnce.Store(true)
	}
	return err
}

// installedOnce remembers a successful check for the life of the process.
var installedOnce atomic.Bool

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("testreg: lock %s: %w", f.Name(), err)
		}
		return nil
	}
}

// installed reports whether node_modules holds the Verdaccio of the current
// lock file. A tree installed by hand (no marker) is accepted as it is.
func installed(dir string) (bool, error) {
	if !fileExists(verdaccioBin(dir)) {
		return false, nil
	}
	marker, err := os.ReadFile(filepath.Join(dir, "node_modules", installMarker))
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("testreg: read install marker: %w", err)
	}
	sum, err := lockSum(dir)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(marker)) == sum, nil
}

func lockSum(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("testreg: read %s/package-lock.json: %w", dir, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func npmCI(dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("testreg: npm is not on PATH; install Node.js 20+ with npm to run registry tests: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testreg: npm ci in %s failed (%w): %s; fix the install or run `npm ci` there by hand",
			dir, err, tail(out.String(), 2000))
	}
	if !fileExists(verdaccioBin(dir)) {
		return fmt.Errorf("testreg: npm ci in %s finished but %s is missing", dir, verdaccioBin(dir))
	}
	sum, err := lockSum(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", installMarker), []byte(sum+"\n"), 0o644); err != nil {
		return fmt.Errorf("testreg: write install marker: %w", err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tail returns at most the last n bytes of s, starting at a line boundary when
// one is near.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < 200 {
		s = s[i+1:]
	}
	return "..." + s
}
