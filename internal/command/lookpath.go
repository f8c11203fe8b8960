package command

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
