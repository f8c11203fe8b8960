// Package releaseassets makes a release's standalone archives from the
// built binaries: one archive per configured platform (assets.archives),
// `<binary>-<target>.tar.gz`, or `.zip` on Windows, holding the executable
// at its root, and a checksums file in `sha256sum` format. The install
// script and `facet self-update` download them from the GitHub Release.
// The same binaries always give the same bytes.
package releaseassets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/artifact"
	"github.com/agent-facets/release/internal/atomicfile"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// Result is what Make wrote.
type Result struct {
	// Dir holds the archives and the checksums file.
	Dir string
	// Archives are the archives, sorted by file name.
	Archives []archive.Info
	// Checksums is the checksums file's path.
	Checksums string
	// Version is the release version the binaries were built at.
	Version string
}

// Name is the file name of the archive of target (an assets.archives name)
// with the given format: "facet-linux-x64.tar.gz".
func Name(binary, target string, f archive.Format) string {
	return binary + "-" + target + string(f)
}

// Make clears the assets directory, checks every binary the archives need
// (all of them, before writing any), writes the archives and then the
// checksums file. It returns one record per file, also when it fails part
// of the way; the checksums file is written only when every archive is.
//
// Every binary must be the one `build` made at the release version v, as for
// the npm packages (see build.Vouch): the archives go to the GitHub Release
// of v's tag under names without a version. With v empty (no -version, no
// tag) the version is cli.source's, else the one the build manifest records
// for the archives' binaries, which must all agree. Result.Version says
// which.
func Make(ctx context.Context, e *toolkit.Env, v string) (*Result, []outcome.Record, error) {
	list := e.Cfg.ArchiveList()
	dir := e.Cfg.AssetsDir()
	res := &Result{Dir: dir, Checksums: filepath.Join(dir, e.Cfg.Assets.Checksums)}
	if len(list) == 0 {
		return res, nil, fmt.Errorf("no archives to make: assets.archives in %s is empty, or none of its builds is a configured target (%s)", e.Cfg.File, strings.Join(e.Cfg.Targets, ", "))
	}
	v, err := releaseVersion(e, list, v)
	if err != nil {
		return res, nil, err
	}
	res.Version = v
	if err := clear(dir); err != nil {
		return res, nil, err
	}

	type job struct {
		name, entry, src string
		format           archive.Format
		from             string
	}
	jobs := make([]job, len(list))
	var errs []error
	var recs []outcome.Record
	for i, a := range list {
		f := archive.FormatFor(a.From)
		jobs[i] = job{name: Name(e.Cfg.CLI.Binary, a.Name, f), entry: a.From.BinaryName(e.Cfg.CLI.Binary), src: e.Cfg.BinaryPath(a.From), format: f, from: a.From.Name}
		checked, err := artifact.Check(jobs[i].src, a.From, artifact.Build{Command: e.Cfg.Build.Command, Config: e.Cfg.File})
		if err == nil {
			err = build.Vouch(e, a.From, v)
		}
		if err != nil {
			err = fmt.Errorf("%s needs the %s binary: %w", jobs[i].name, a.From.Name, err)
			errs = append(errs, err)
			recs = append(recs, outcome.Record{Package: jobs[i].name, Version: v, Target: a.Name, Action: outcome.Failed, Error: err.Error()})
			continue
		}
		for _, n := range checked.Notes {
			e.Out.Line(report.Warn, "%s: %s", jobs[i].name, n)
		}
	}
	if len(errs) > 0 {
		for _, err := range errs {
			e.Out.Line(report.Failed, "%v", err)
		}
		return res, recs, fmt.Errorf("%d of %d archives cannot be made, so none was: %w", len(errs), len(list), errors.Join(errs...))
	}

	type made struct {
		info archive.Info
		rec  outcome.Record
		err  error
	}
	out := fanout.Each(2, jobs, func(i int, j job) made {
		start := time.Now()
		rec := outcome.Record{Package: j.name, Version: v, Target: list[i].Name, Note: "from " + j.from}
		if err := ctx.Err(); err != nil {
			rec.Action, rec.Error = outcome.Failed, err.Error()
			return made{rec: rec, err: err}
		}
		info, err := archive.Create(filepath.Join(dir, j.name), j.format, j.entry, j.src)
		rec.Duration = time.Since(start)
		if err != nil {
			rec.Action, rec.Error = outcome.Failed, err.Error()
			e.Out.Line(report.Failed, "%s: %v", j.name, err)
			return made{rec: rec, err: err}
		}
		rec.Action, rec.Integrity = outcome.Published, "sha256:"+info.SHA256
		e.Out.Line(report.Added, "%s (%s from %s, %.1f MB, sha256 %s…)", j.name, j.entry, j.from, float64(info.Size)/(1<<20), info.SHA256[:12])
		return made{info: info, rec: rec}
	})
	recs = recs[:0]
	for _, m := range out {
		recs = append(recs, m.rec)
		if m.err != nil {
			errs = append(errs, m.err)
			continue
		}
		res.Archives = append(res.Archives, m.info)
	}
	if len(errs) > 0 {
		return res, recs, fmt.Errorf("archives failed, so %s was not written: %w", e.Cfg.Assets.Checksums, errors.Join(errs...))
	}
	slices.SortFunc(res.Archives, func(a, b archive.Info) int { return strings.Compare(a.Name, b.Name) })
	sums := archive.Checksums(res.Archives)
	if err := atomicfile.WriteFile(res.Checksums, sums, 0o644); err != nil {
		return res, recs, err
	}
	// The version last: githubRelease uploads these archives only to the
	// release of this version.
	if err := atomicfile.WriteFile(filepath.Join(dir, VersionFile), []byte(v+"\n"), 0o644); err != nil {
		return res, recs, err
	}
	recs = append(recs, outcome.Record{Package: e.Cfg.Assets.Checksums, Version: v, Action: outcome.Published, Note: fmt.Sprintf("SHA-256 of %d archives", len(res.Archives))})
	e.Out.Line(report.Added, "%s (SHA-256 of %d archives, sha256sum format)", e.Cfg.Assets.Checksums, len(res.Archives))
	return res, recs, nil
}

// clear empties dir (creating it when missing), which may hold only files:
// a directory or a link in it means it is not an assets directory, and
// nothing is removed.
func clear(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("assets directory: %w", err)
	}
	for _, en := range entries {
		if !en.Type().IsRegular() {
			return fmt.Errorf("assets directory %s holds %s, which is not a file releaseAssets writes: nothing was removed; give assets.dir a directory of its own", dir, en.Name())
		}
	}
	for _, en := range entries {
		if err := os.Remove(filepath.Join(dir, en.Name())); err != nil {
			return fmt.Errorf("clear the assets directory: %w", err)
		}
	}
	return nil
}

// VersionFile, in the assets directory, holds the release version the
// archives' binaries were built at (not uploaded anywhere).
const VersionFile = "release-version.txt"

// Read reads the checksums file in the assets directory and checks every
// archive it lists against its bytes, and that they were made for release
// version v: what githubRelease uploads is exactly what releaseAssets wrote
// for v. It returns the archives in the file's order.
func Read(e *toolkit.Env, v string) ([]archive.Info, string, error) {
	dir := e.Cfg.AssetsDir()
	sumsPath := filepath.Join(dir, e.Cfg.Assets.Checksums)
	data, err := os.ReadFile(sumsPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, sumsPath, fmt.Errorf("%s not found: make the archives first with `go tool mage releaseAssets`", sumsPath)
	}
	if err != nil {
		return nil, sumsPath, err
	}
	made, err := os.ReadFile(filepath.Join(dir, VersionFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, sumsPath, fmt.Errorf("%s holds no archives made for %s (no %s): make them with `go tool mage releaseAssets -version=%s`", dir, v, VersionFile, v)
	case err != nil:
		return nil, sumsPath, err
	case strings.TrimSpace(string(made)) != v:
		return nil, sumsPath, fmt.Errorf("the archives in %s hold the binaries of %s, not %s: build %s and make them again with `go tool mage releaseAssets -version=%s`", dir, strings.TrimSpace(string(made)), v, v, v)
	}
	sums, err := archive.ParseChecksums(data)
	if err != nil {
		return nil, sumsPath, fmt.Errorf("%s: %w", sumsPath, err)
	}
	if len(sums) == 0 {
		return nil, sumsPath, fmt.Errorf("%s lists no archives: run `go tool mage releaseAssets` again", sumsPath)
	}
	var out []archive.Info
	for _, info := range infos(sums) {
		if info.Name != filepath.Base(info.Name) || strings.HasPrefix(info.Name, ".") || info.Name == e.Cfg.Assets.Checksums || info.Name == VersionFile {
			return nil, sumsPath, fmt.Errorf("%s lists %q, which is not an archive in %s: run `go tool mage releaseAssets` again", sumsPath, info.Name, dir)
		}
		p := filepath.Join(dir, info.Name)
		size, sum, err := archive.SHA256File(p)
		if err != nil {
			return nil, sumsPath, fmt.Errorf("%s lists %s: %w; run `go tool mage releaseAssets` again", sumsPath, info.Name, err)
		}
		if sum != info.SHA256 {
			return nil, sumsPath, fmt.Errorf("%s has SHA-256 %s, but %s lists %s: the archive changed after releaseAssets; run it again", p, sum, sumsPath, info.SHA256)
		}
		info.Path, info.Size = p, size
		out = append(out, info)
	}
	return out, sumsPath, nil
}

func infos(sums map[string]string) []archive.Info {
	out := make([]archive.Info, 0, len(sums))
	for name, sum := range sums {
		out = append(out, archive.Info{Name: name, SHA256: sum})
	}
	slices.SortFunc(out, func(a, b archive.Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// releaseVersion is the version the archives are made for: v when given
// (checked against cli.source's), else cli.source's, else the one the build
// manifest records for every binary the archives hold.
func releaseVersion(e *toolkit.Env, list []config.Archive, v string) (string, error) {
	if v != "" {
		return v, build.CheckSourceVersion(e, v)
	}
	sv, err := build.SourceVersion(e)
	if err != nil || sv != "" {
		return sv, err
	}
	m, err := build.ReadManifest(e)
	if err != nil {
		return "", err
	}
	seen := map[string][]string{}
	var versions []string
	for _, a := range list {
		b, ok := m.Targets[a.From.Name]
		if !ok {
			continue // Vouch names it
		}
		if _, dup := seen[b.Version]; !dup {
			versions = append(versions, b.Version)
		}
		seen[b.Version] = append(seen[b.Version], a.From.Name)
	}
	switch len(versions) {
	case 0:
		return "", fmt.Errorf("no archive can be made: the build manifest (%s) records none of the binaries they hold; build them with `go tool mage build -version=X.Y.Z`", build.ManifestPath(e))
	case 1:
		return versions[0], nil
	}
	var parts []string
	for _, ver := range versions {
		parts = append(parts, fmt.Sprintf("%s at %s", strings.Join(seen[ver], ", "), ver))
	}
	return "", fmt.Errorf("the binaries were built at different versions (%s), so no archive was made: pass -version=X.Y.Z, and rebuild the others with `go tool mage build -version=X.Y.Z`", strings.Join(parts, "; "))
}
