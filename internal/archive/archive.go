// Package archive writes a release's standalone archives deterministically:
// a .tar.gz (Linux, macOS) or a .zip (Windows) holding one executable at its
// root, with a fixed modification time and mode 0755, so the same binary
// always gives the same bytes; and the checksums file that lists them in
// `sha256sum` format.
//
// The .tar.gz is written by internal/tarball (the npm tarball's ustar
// headers and deterministic parallel gzip, without npm's "package/"
// prefix). The .zip holds one deflated entry made by Unix (so that unzip
// restores the execute bit), stamped with the same time.
package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/klauspost/compress/flate"

	"github.com/agent-facets/release/internal/atomicfile"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/platforms"
)

// Format is an archive format, named by its file extension.
type Format string

const (
	TarGz Format = ".tar.gz"
	Zip   Format = ".zip"
)

// FormatFor is the format of target t's archive: .zip on Windows, .tar.gz
// elsewhere.
func FormatFor(t platforms.Target) Format {
	if t.OS == "win32" {
		return Zip
	}
	return TarGz
}

// zipLevel is the deflate level of zip entries; like the gzip of tarballs,
// close to the best compression at a fraction of its time.
const zipLevel = 7

// Info describes a written archive.
type Info struct {
	// Name is the archive's file name, Path where it was written.
	Name, Path string
	// Size is its length in bytes, SHA256 the hex SHA-256 of its bytes.
	Size   int64
	SHA256 string
}

// Write writes an archive in format f to w, holding the file src as entry
// (a plain name such as "facet" or "facet.exe") with mode 0755. It returns
// the archive's size and hex SHA-256.
func Write(w io.Writer, f Format, entry, src string) (int64, string, error) {
	if entry == "" || strings.ContainsAny(entry, `/\`) {
		return 0, "", fmt.Errorf("archive: entry %q must be a plain file name", entry)
	}
	st, err := os.Stat(src)
	if err != nil {
		return 0, "", fmt.Errorf("archive: %w", err)
	}
	if !st.Mode().IsRegular() {
		return 0, "", fmt.Errorf("archive: %s is not a regular file", src)
	}
	sum := &counter{w: w, h: sha256.New()}
	switch f {
	case TarGz:
		_, err = tarball.WriteRoot(sum, []tarball.File{{Path: entry, Source: src, Mode: 0o755}})
	case Zip:
		err = writeZip(sum, entry, src, st.Size())
	default:
		return 0, "", fmt.Errorf("archive: unknown format %q: use %s or %s", f, TarGz, Zip)
	}
	if err != nil {
		return 0, "", err
	}
	return sum.n, hex.EncodeToString(sum.h.Sum(nil)), nil
}

func writeZip(w io.Writer, entry, src string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer in.Close()
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, zipLevel)
	})
	h := &zip.FileHeader{Name: entry, Method: zip.Deflate, Modified: tarball.MTime}
	h.SetMode(0o755) // also marks the entry as made on Unix
	fw, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("archive: zip %s: %w", entry, err)
	}
	n, err := io.Copy(fw, in)
	if err != nil {
		return fmt.Errorf("archive: zip %s: %w", entry, err)
	}
	if n != size {
		return fmt.Errorf("archive: %s changed size from %d to %d bytes while it was archived; is a build still writing it?", src, size, n)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive: zip %s: %w", entry, err)
	}
	return nil
}

// Create writes the archive (see Write) at path atomically: a temporary
// file in the same directory, synced and renamed over path.
func Create(path string, f Format, entry, src string) (Info, error) {
	info := Info{Name: filepath.Base(path), Path: path}
	err := atomicfile.Create(path, 0o644, func(tmp *os.File) error {
		var err error
		info.Size, info.SHA256, err = Write(tmp, f, entry, src)
		return err
	})
	if err != nil {
		return info, fmt.Errorf("archive: create %s: %w", path, err)
	}
	return info, nil
}

// SHA256File returns the size and hex SHA-256 of the file at path.
func SHA256File(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Checksums is the checksums file listing infos as `sha256sum` prints
// them ("<hex>  <name>"), sorted by name, so that `sha256sum -c` checks it.
func Checksums(infos []Info) []byte {
	sorted := append([]Info(nil), infos...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	for _, in := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", in.SHA256, in.Name)
	}
	return b.Bytes()
}

var checksumLine = regexp.MustCompile(`^([0-9a-f]{64}) [ *](.+)$`)

// ParseChecksums reads a checksums file in `sha256sum` format into a map
// of file name to hex SHA-256.
func ParseChecksums(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		m := checksumLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d (%q) is not \"<sha256>  <name>\"", n, line)
		}
		out[m[2]] = m[1]
	}
	return out, sc.Err()
}

type counter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}
