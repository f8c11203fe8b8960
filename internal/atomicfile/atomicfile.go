// Package atomicfile writes files that are never seen half-written: the
// bytes go to a temporary file in the same directory (".<name>.<random>.tmp"),
// which is synced and renamed over the destination. A run killed on the way
// leaves the destination as it was, and at most the temporary file, which
// the leftover sweeps recognise by that name.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Create writes path atomically with mode perm: write fills the temporary
// file. On any error the temporary file is removed and path is untouched.
func Create(path string, perm os.FileMode, write func(f *os.File) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteFile writes data to path atomically with mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Create(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}
