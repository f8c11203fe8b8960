package command

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LookPath finds a program the way the operating system would run it, on
// the PATH of the Runner's environment (not the process's): a name with a
// path separator is taken as it is; on Windows the PATHEXT extensions are
// tried, so "npm" finds npm.cmd.
func (r *Runner) LookPath(name string) (string, error) {
	if strings.ContainsAny(name, `/\`) {
		if p, ok := executable(name, r.Environ); ok {
			return p, nil
		}
		return "", fmt.Errorf("%s is not an executable file", name)
	}
	path := Getenv(r.Environ, "PATH")
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if p, ok := executable(filepath.Join(dir, name), r.Environ); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not found on PATH)", name)
}

func isFile(p string) (fs.FileInfo, bool) {
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		return nil, false
	}
	return fi, true
}

// withExtension is how Windows finds a program: p itself when its extension
// is one of pathext's (";"-separated, .COM;.EXE;.BAT;.CMD when empty), else
// p with the first of them that names a file, so "npm" finds npm.cmd.
func withExtension(p, pathext string) (string, bool) {
	exts := strings.Split(strings.ToLower(pathext), ";")
	if len(exts) == 1 && exts[0] == "" {
		exts = []string{".com", ".exe", ".bat", ".cmd"}
	}
	if ext := strings.ToLower(filepath.Ext(p)); ext != "" && slices.Contains(exts, ext) {
		if _, ok := isFile(p); ok {
			return p, true
		}
	}
	for _, e := range exts {
		if e == "" {
			continue
		}
		if _, ok := isFile(p + e); ok {
			return p + e, true
		}
	}
	return "", false
}
