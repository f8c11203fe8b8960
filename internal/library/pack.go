package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/internal/workspace"
)

// Packed is a library package packed for publishing.
type Packed struct {
	pack.Package
	// Source is the workspace package it was packed from.
	Source workspace.Package
	// Rewritten is the manifest in the tarball.
	Rewritten *Rewritten
	// Files are the paths in the tarball (package.json among them), sorted.
	Files []string
	// files maps each packed path to the file it was read from (in the
	// package's directory, or in its staging copy, gone after Pack);
	// heads holds the first bytes of the bin files, read while they were
	// there.
	files map[string]string
	heads map[string][]byte
}

// Has reports whether the tarball holds the file rel (slash-separated,
// without "./").
func (p *Packed) Has(rel string) bool {
	_, ok := p.files[rel]
	return ok || rel == "package.json"
}

// headSize is how much of each bin file Pack keeps for the lint.
const headSize = 64

// Head returns the first bytes of the packed bin file rel.
func (p *Packed) Head(rel string) ([]byte, bool) {
	h, ok := p.heads[rel]
	return h, ok
}

// readHead reads the first n bytes of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:k], nil
}

// Pack packs the workspace package p as its package manager's publish
// would, into the dist directory's npm folder, without writing anything in
// the working tree: the files are those `npm pack` would take (npm's own
// rules: "files", .npmignore, the files always included), read where they
// are, and the manifest is Rewrite's. The same inputs give the same bytes.
//
// With prepack set (adapters.prepack), the package is first copied to a
// staging directory under the dist directory, where its prepack script runs
// (it may rewrite that copy's package.json; the rewrite then applies to
// what it wrote), the files are taken from the copy, and its postpack
// script runs there after the tarball is written. Scripts run with run,
// whose environment holds no credentials (see ScriptRunner).
func Pack(ctx context.Context, e *toolkit.Env, ws *workspace.Workspace, p workspace.Package, run *command.Runner) (*Packed, error) {
	if _, err := version.Validate(p.Version); err != nil {
		return nil, fmt.Errorf("%s (%s/package.json): \"version\": %w", p.Name, ws.Rel(p), err)
	}
	dir := p.Dir
	prepack := e.Cfg.Adapters.Prepack && (p.Scripts["prepack"] != "" || p.Scripts["postpack"] != "")
	if prepack {
		root := filepath.Join(pack.Dir(e), "stage", strings.NewReplacer("@", "", "/", "-").Replace(p.Name))
		stage, err := stageMirror(e, ws, p, root)
		if err != nil {
			os.RemoveAll(root)
			return nil, fmt.Errorf("%s: make its staging copy in %s: %w", p.Name, root, err)
		}
		defer os.RemoveAll(root)
		dir = stage
		if p.Scripts["prepack"] != "" {
			if err := runScript(ctx, e, ws, p, run, dir, "prepack"); err != nil {
				return nil, err
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	rw, err := Rewrite(ws, p, raw)
	if err != nil {
		return nil, err
	}
	list, err := fileList(ctx, e, p, dir)
	if err != nil {
		return nil, err
	}
	bins := binTargets(rw.Manifest)
	out := &Packed{Source: p, Rewritten: rw, files: map[string]string{}, heads: map[string][]byte{}}
	files := []tarball.File{{Path: "package.json", Data: rw.JSON, Mode: 0o644}}
	for _, rel := range list {
		if rel == "package.json" {
			continue
		}
		src := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		if err != nil {
			return nil, fmt.Errorf("%s: npm would pack %s, which cannot be read: %w", p.Name, rel, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %s is not a regular file (%s): npm packs regular files only; replace it with a copy of the file", p.Name, filepath.Join(dir, rel), fi.Mode().Type())
		}
		mode := fs.FileMode(0o644)
		if bins[rel] {
			mode = 0o755
			if out.heads[rel], err = readHead(src, headSize); err != nil {
				return nil, fmt.Errorf("%s: %w", p.Name, err)
			}
		}
		files = append(files, tarball.File{Path: rel, Source: src, Mode: mode})
		out.files[rel] = src
	}
	for _, f := range files {
		out.Files = append(out.Files, f.Path)
	}
	sort.Strings(out.Files)
	name, _ := rw.Manifest.String("name")
	v, _ := rw.Manifest.String("version")
	if name != p.Name || v != p.Version {
		return nil, fmt.Errorf("%s@%s: the prepack script changed the package's name or version to %s@%s: a prepack script may not rename or re-version the package", p.Name, p.Version, name, v)
	}
	dest := pack.Dir(e)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, err
	}
	tgz := filepath.Join(dest, pack.TarballName(p.Name, p.Version))
	info, err := tarball.Create(tgz, files)
	if err != nil {
		return nil, fmt.Errorf("pack %s@%s: %w", p.Name, p.Version, err)
	}
	out.Package = pack.Package{
		Name: p.Name, Version: p.Version, Tarball: tgz, Info: info,
		Access: rw.Publish.Access, Tag: rw.Publish.Tag, Registry: rw.Publish.Registry,
	}
	if prepack && p.Scripts["postpack"] != "" {
		if err := runScript(ctx, e, ws, p, run, dir, "postpack"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fileList is what `npm pack` would put in the tarball of the package in
// dir (without running its scripts or writing anything).
func fileList(ctx context.Context, e *toolkit.Env, p workspace.Package, dir string) ([]string, error) {
	out, err := e.NPM.Do(ctx, npmCall(dir, "pack", "--dry-run", "--json", "--ignore-scripts", "--loglevel=error"))
	if err != nil {
		return nil, fmt.Errorf("list the files of %s with `npm pack --dry-run`: %w", p.Name, err)
	}
	var res []struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		return nil, fmt.Errorf("list the files of %s: `npm pack --dry-run --json` printed no result", p.Name)
	}
	var list []string
	for _, f := range res[0].Files {
		rel := path.Clean(filepath.ToSlash(f.Path))
		if rel == "." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
			return nil, fmt.Errorf("list the files of %s: npm listed %q, outside the package", p.Name, f.Path)
		}
		list = append(list, rel)
	}
	return list, nil
}

// binTargets are the files a manifest's bin field names, slash-separated
// and clean ("dist/cli.mjs"): npm makes them executable.
func binTargets(m *Object) map[string]bool {
	out := map[string]bool{}
	for _, t := range bins(m) {
		out[cleanTarget(t)] = true
	}
	return out
}

// bins returns the bin field as command → target ("bin": "x" names the
// package's unscoped name).
func bins(m *Object) map[string]string {
	raw, ok := m.Raw("bin")
	if !ok {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		name, _ := m.String("name")
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		return map[string]string{name: one}
	}
	var many map[string]string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// cleanTarget is a manifest path ("./dist/x.js") as a tarball path.
func cleanTarget(t string) string {
	return path.Clean(strings.TrimPrefix(filepath.ToSlash(t), "./"))
}

// stageMirror makes root a stand-in for the workspace in which p's
// directory is a copy and everything else is a link to the real thing, so
// that p's scripts find what they reach by relative paths (../../scripts,
// a tsconfig to extend) and by Node's resolution (node_modules above), while
// whatever they do to the package itself happens to the copy. It returns the
// copy's directory.
func stageMirror(e *toolkit.Env, ws *workspace.Workspace, p workspace.Package, root string) (string, error) {
	if err := os.RemoveAll(root); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(ws.Dir, p.Dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		// Outside the workspace: a copy alone.
		dst := filepath.Join(root, "package")
		return dst, stageCopy(e, p.Dir, dst)
	}
	src, dst := ws.Dir, root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return "", err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return "", err
		}
		for _, en := range entries {
			if en.Name() == part {
				continue
			}
			if err := os.Symlink(filepath.Join(src, en.Name()), filepath.Join(dst, en.Name())); err != nil {
				return "", fmt.Errorf("%w: the staging copy links the rest of the workspace in; allow symbolic links (on Windows, Developer Mode), or set adapters.prepack to false", err)
			}
		}
		src, dst = filepath.Join(src, part), filepath.Join(dst, part)
	}
	return dst, stageCopy(e, p.Dir, dst)
}

// stageCopy makes dst a copy of the package in src, without node_modules
// (linked instead, when the OS lets it, so that scripts find their tools).
func stageCopy(e *toolkit.Env, src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") && p != src:
			if d.Name() == "node_modules" {
				if err := os.Symlink(p, target); err != nil {
					e.Out.Line(report.Warn, "%s: not linked into the staging copy (%v); its scripts run without it", p, err)
				}
			}
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s disappeared while it was copied: %w", src, err)
	}
	return err
}
