// Package tarball writes npm package tarballs (.tgz) deterministically and
// streamingly, and reads back their integrity and manifest.
//
// The tar stream is the one `npm pack` writes for the same files: entries
// under "package/", in npm-packlist's order, with node-tar's portable ustar
// headers (no uid/gid/uname/gname, mtime 1985-10-26T08:15:00Z, mode 0644 or
// 0755, no directory entries). Only the gzip layer differs from npm's: it is
// compressed in parallel with a fixed block size, so the same files give the
// same bytes on every machine and at any GOMAXPROCS, but not the bytes Node's
// zlib would give. Integrity and shasum are computed while writing.
package tarball

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/atomicfile"
	"github.com/klauspost/pgzip"
)

// npmMTime is the modification time npm stamps on every entry,
// 1985-10-26T08:15:00Z.
var npmMTime = time.Date(1985, time.October, 26, 8, 15, 0, 0, time.UTC)

// MTime is the modification time of every entry this package writes, npm's;
// other deterministic archives use it too.
var MTime = npmMTime

const (
	// Prefix is the directory every entry of an npm tarball lives under.
	Prefix = "package/"
	// Level is the gzip level. Level 7 gives tarballs within about 1-2% of
	// npm's level-9 zlib output at roughly a tenth of the time.
	Level = 7
	// gzipBlock is pgzip's block size. The output depends on it (each block
	// is compressed on its own, primed with the previous block's tail), so
	// it is fixed; the number of blocks compressed at once is not part of
	// the output and follows GOMAXPROCS.
	gzipBlock = 1 << 20
	// maxConcurrency bounds memory: each block in flight holds about two
	// block-sized buffers and a compressor.
	maxConcurrency = 8
)

// File is one regular file to put in a tarball.
type File struct {
	// Path is the slash-separated path inside the package, without the
	// "package/" prefix, e.g. "bin/facet" or "package.json".
	Path string
	// Source is the file on disk whose contents are streamed in. Set
	// Source or Data, not both.
	Source string
	// Data holds the contents when Source is empty.
	Data []byte
	// Mode is normalised: any execute bit gives 0755, otherwise 0644.
	Mode fs.FileMode
}

// Info describes a written or read tarball.
type Info struct {
	// Integrity is "sha512-" + base64 of the SHA-512 of the .tgz bytes,
	// npm's dist.integrity.
	Integrity string `json:"integrity"`
	// Shasum is the hex SHA-1 of the .tgz bytes, npm's dist.shasum.
	Shasum string `json:"shasum"`
	// Size is the length of the .tgz in bytes.
	Size int64 `json:"size"`
	// UnpackedSize is the sum of the files' sizes.
	UnpackedSize int64 `json:"unpackedSize"`
	// EntryCount is the number of files in the tarball.
	EntryCount int `json:"entryCount"`
}

// Write writes the gzipped tarball of files to w and returns its Info. Files
// are sorted in npm's order; the caller's order does not matter. One of the
// files must be package.json. File contents are streamed: memory use does not
// grow with file size.
func Write(w io.Writer, files []File) (Info, error) {
	return write(w, files, Prefix, true)
}

// WriteRoot writes a gzipped tarball of files at their own paths, with no
// "package/" prefix and no package.json required: a standalone archive
// (such as a release's `facet-linux-x64.tar.gz`) made by the same rules as
// an npm tarball, so the same files give the same bytes.
func WriteRoot(w io.Writer, files []File) (Info, error) {
	return write(w, files, "", false)
}

func write(w io.Writer, files []File, prefix string, npmPackage bool) (Info, error) {
	sorted, err := prepare(files, npmPackage)
	if err != nil {
		return Info{}, err
	}
	sum := newSummer(w)
	zw, err := pgzip.NewWriterLevel(sum, Level)
	if err != nil {
		return Info{}, fmt.Errorf("tarball: gzip writer: %w", err)
	}
	if err := zw.SetConcurrency(gzipBlock, min(runtime.GOMAXPROCS(0), maxConcurrency)); err != nil {
		return Info{}, fmt.Errorf("tarball: gzip writer: %w", err)
	}
	// No name, mtime 0 and OS "unknown": nothing in the gzip header depends
	// on the machine. pgzip writes ModTime.Unix() unchecked, so set the epoch.
	zw.Name, zw.Comment, zw.ModTime, zw.OS = "", "", time.Unix(0, 0), 255

	info := Info{EntryCount: len(sorted)}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	for _, f := range sorted {
		n, err := writeEntry(zw, prefix, f, *buf)
		if err != nil {
			zw.Close()
			return Info{}, err
		}
		info.UnpackedSize += n
	}
	// node-tar ends the archive with two zero blocks and no record padding.
	if _, err := zw.Write(make([]byte, 2*blockSize)); err != nil {
		zw.Close()
		return Info{}, fmt.Errorf("tarball: write end of archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Info{}, fmt.Errorf("tarball: compress: %w", err)
	}
	if sum.err != nil {
		return Info{}, fmt.Errorf("tarball: write: %w", sum.err)
	}
	sum.fill(&info)
	return info, nil
}

// Create writes the tarball to path atomically: it writes a temporary file in
// the same directory, syncs it and renames it over path, so path never holds
// a half-written tarball. The file is created with mode 0644.
func Create(dst string, files []File) (Info, error) {
	var info Info
	err := atomicfile.Create(dst, 0o644, func(f *os.File) error {
		var err error
		info, err = Write(f, files)
		return err
	})
	if err != nil {
		return Info{}, fmt.Errorf("tarball: create %s: %w", dst, err)
	}
	return info, nil
}

// entry is a validated File with its normalised name and mode.
type entry struct {
	File
	name string // path inside the package
	mode int64
}

// prepare validates paths, normalises modes and sorts in npm's order; an
// npm package must hold a package.json.
func prepare(files []File, npmPackage bool) ([]entry, error) {
	out := make([]entry, 0, len(files))
	seen := make(map[string]bool, len(files))
	hasManifest := false
	for _, f := range files {
		name, err := cleanPath(f.Path)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("tarball: %q is listed twice; list each file once", name)
		}
		seen[name] = true
		if name == "package.json" {
			hasManifest = true
		}
		if f.Source != "" && f.Data != nil {
			return nil, fmt.Errorf("tarball: %q has both Source (%s) and Data; set one", name, f.Source)
		}
		mode := int64(0o644)
		if f.Mode&0o111 != 0 {
			mode = 0o755
		}
		out = append(out, entry{File: f, name: name, mode: mode})
	}
	if npmPackage && !hasManifest {
		return nil, fmt.Errorf("tarball: no package.json among the %d files; an npm package needs one at its root", len(files))
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].name, out[j].name) })
	return out, nil
}

// cleanPath checks that p is a relative, clean, slash-separated path.
func cleanPath(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("tarball: a file has an empty path; give its path inside the package")
	case strings.Contains(p, `\`):
		return "", fmt.Errorf("tarball: path %q contains a backslash; use forward slashes", p)
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("tarball: path %q is absolute; give it relative to the package root", p)
	case strings.HasPrefix(p, Prefix):
		return "", fmt.Errorf("tarball: path %q already starts with %q; leave the prefix out", p, Prefix)
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return "", fmt.Errorf("tarball: path %q is not a clean path inside the package", p)
	}
	return p, nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// writeEntry writes one header and the file's contents, padded to a block.
func writeEntry(w io.Writer, prefix string, e entry, buf []byte) (int64, error) {
	var (
		r    io.Reader
		size int64
	)
	if e.Source != "" {
		f, err := os.Open(e.Source)
		if err != nil {
			return 0, fmt.Errorf("tarball: %s: %w", e.name, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return 0, fmt.Errorf("tarball: %s: %w", e.name, err)
		}
		if !st.Mode().IsRegular() {
			return 0, fmt.Errorf("tarball: %s: source %s is not a regular file (%s); only regular files can be packed", e.name, e.Source, st.Mode().Type())
		}
		r, size = f, st.Size()
	} else {
		r, size = bytes.NewReader(e.Data), int64(len(e.Data))
	}
	h, err := header(prefix+e.name, e.mode, size, npmMTime.Unix())
	if err != nil {
		return 0, fmt.Errorf("tarball: %w", err)
	}
	if _, err := w.Write(h[:]); err != nil {
		return 0, fmt.Errorf("tarball: %s: %w", e.name, err)
	}
	n, err := io.CopyBuffer(w, io.LimitReader(r, size), buf)
	if err != nil {
		return 0, fmt.Errorf("tarball: %s: copy %s: %w", e.name, e.Source, err)
	}
	if n != size {
		return 0, fmt.Errorf("tarball: %s: %s shrank from %d to %d bytes while it was packed; is a build still writing it?", e.name, e.Source, size, n)
	}
	if pad := (blockSize - size%blockSize) % blockSize; pad > 0 {
		if _, err := w.Write(make([]byte, pad)); err != nil {
			return 0, fmt.Errorf("tarball: %s: %w", e.name, err)
		}
	}
	return size, nil
}

// summer counts and hashes the bytes written through it.
type summer struct {
	w      io.Writer
	sha512 hash.Hash
	sha1   hash.Hash
	n      int64
	err    error
}

func newSummer(w io.Writer) *summer {
	return &summer{w: w, sha512: sha512.New(), sha1: sha1.New()}
}

func (s *summer) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.sha512.Write(p[:n])
	s.sha1.Write(p[:n])
	s.n += int64(n)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

func (s *summer) fill(info *Info) {
	info.Integrity = "sha512-" + base64.StdEncoding.EncodeToString(s.sha512.Sum(nil))
	info.Shasum = hex.EncodeToString(s.sha1.Sum(nil))
	info.Size = s.n
}
