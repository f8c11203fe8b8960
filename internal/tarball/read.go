package tarball

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// maxManifest bounds how much of package.json ReadManifest reads.
const maxManifest = 16 << 20

// Integrity reads an existing .tgz once, streaming, and returns its Info: the
// integrity, shasum and size of its bytes, and the unpacked size and file
// count of its entries. It fails if the file is not a gzipped tar.
func Integrity(tgzPath string) (Info, error) {
	f, err := os.Open(tgzPath)
	if err != nil {
		return Info{}, fmt.Errorf("tarball: %w", err)
	}
	defer f.Close()
	sum := newSummer(io.Discard)
	raw := io.TeeReader(f, sum)
	var info Info
	err = walk(raw, func(h *tar.Header, _ io.Reader) (bool, error) {
		if h.Typeflag == tar.TypeReg {
			info.EntryCount++
			info.UnpackedSize += h.Size
		}
		return true, nil
	})
	if err != nil {
		return Info{}, fmt.Errorf("tarball: %s: %w", tgzPath, err)
	}
	// Hash whatever follows the tar stream (gzip trailer, padding).
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return Info{}, fmt.Errorf("tarball: %s: %w", tgzPath, err)
	}
	sum.fill(&info)
	return info, nil
}

// ReadManifest returns the package.json at the root of the tarball's package
// directory ("package/package.json"). It stops reading at that entry.
func ReadManifest(tgzPath string) (json.RawMessage, error) {
	f, err := os.Open(tgzPath)
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	defer f.Close()
	var manifest []byte
	err = walk(f, func(h *tar.Header, r io.Reader) (bool, error) {
		if h.Name != Prefix+"package.json" || h.Typeflag != tar.TypeReg {
			return true, nil
		}
		if h.Size > maxManifest {
			return false, fmt.Errorf("package.json is %d bytes, more than the %d a manifest may have", h.Size, maxManifest)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return false, err
		}
		manifest = b
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tarball: %s: %w", tgzPath, err)
	}
	if manifest == nil {
		return nil, fmt.Errorf("tarball: %s has no %spackage.json; is it an npm package tarball?", tgzPath, Prefix)
	}
	trimmed := bytes.TrimSpace(manifest)
	if !json.Valid(trimmed) || !bytes.HasPrefix(trimmed, []byte("{")) {
		return nil, fmt.Errorf("tarball: %s: %spackage.json is not a JSON object", tgzPath, Prefix)
	}
	return json.RawMessage(trimmed), nil
}

// walk calls fn for each entry of the gzipped tar read from r until fn
// returns false or the archive ends.
func walk(r io.Reader, fn func(*tar.Header, io.Reader) (bool, error)) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip file: %w", err)
	}
	defer zr.Close()
	zr.Multistream(false)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// Read to the gzip trailer so its checksum is verified.
			if _, err := io.Copy(io.Discard, zr); err != nil {
				return fmt.Errorf("gzip: %w", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		more, err := fn(h, tr)
		if err != nil || !more {
			return err
		}
	}
}
