package tarball

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FromDir lists every regular file under dir as a File, with Path relative to
// dir. It applies no ignore rules (.npmignore, "files"): dir should be a
// staging directory that holds exactly the package. Symbolic links and other
// non-regular files are refused, since npm would silently drop them and the
// package would be missing a file. Directories get no entries of their own,
// as in npm's tarballs.
//
// executable decides which files get mode 0755, given the slash-separated
// path (e.g. "bin/facet"); every other file gets 0644. Modes come from what
// a file is in the package (its bin entries), never from the file system,
// so a package packed on Windows, or from a checkout with lost or stray
// execute bits, has the same bytes as one packed anywhere else.
func FromDir(dir string, executable func(rel string) bool) ([]File, error) {
	if executable == nil {
		return nil, fmt.Errorf("tarball: FromDir needs to be told which files are executables")
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tarball: package directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tarball: package directory %s is not a directory", dir)
	}
	var files []File
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("tarball: list %s: %w", dir, err)
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return fmt.Errorf("tarball: list %s: %w", dir, err)
		}
		rel = filepath.ToSlash(rel)
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			return fmt.Errorf("tarball: %s is a symbolic link (to %s); npm packs regular files only: copy the file into the package directory instead", p, target)
		case !t.IsRegular():
			return fmt.Errorf("tarball: %s is not a regular file (%s); remove it from the package directory", p, t)
		}
		mode := fs.FileMode(0o644)
		if executable(rel) {
			mode = 0o755
		}
		files = append(files, File{Path: rel, Source: p, Mode: mode})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
