package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/agent-facets/release"
	"github.com/agent-facets/release/internal/ciconfig"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// startProbe is the target every measured start runs: it prints the
// platform table and reads nothing else, so its time is the toolkit's start.
const startProbe = "platforms"

// StartResult is the toolkit's own start, measured.
type StartResult struct {
	// Cold: `go tool mage platforms` from this repository with an empty Go
	// build cache and an empty Mage cache (fresh GOCACHE and
	// MAGEFILE_CACHE, as in a fresh CI container); WarmGo: the Go build
	// cache kept, the Mage cache empty; Warm: both kept; Compiled: the
	// binary `go tool mage -compile` writes, running the same target.
	Cold, WarmGo, Warm, Compiled []Proc
	// GoBuildCache is the size of the Go build cache a cold start filled;
	// ModCache the size of the modules of this module's build list (kept
	// warm: zips and extracted trees); Toolkit the compiled binary's size.
	GoBuildCache, ModCache, Toolkit int64
}

func (s *StartResult) costs() startCosts {
	return startCosts{Cold: median(procWalls(s.Cold)), WarmGo: median(procWalls(s.WarmGo)),
		Warm: median(procWalls(s.Warm)), Compiled: median(procWalls(s.Compiled))}
}

// PipelineResult is the pipeline pair: one release's cost in the CircleCI
// pipeline before the rework and as generated now.
type PipelineResult struct {
	Start StartResult
	// Tag is the tag whose push the pipelines are read for.
	Tag string
	// Sizes used: a binary and a platform tarball (the real payload's),
	// the CLI package's tarball.
	Binary, Tarball, CLI int64
	Targets              int
	Before, After        *PipelineCost
}

// pipeline runs the pipeline pair with the real payload's sizes from the
// packing pair.
func (w *world) pipeline(ctx context.Context, packed *PackResult) (*PipelineResult, error) {
	cfg, err := config.Parse("release.json (embedded)", w.o.RepoRoot, release.DefaultConfig)
	if err != nil {
		return nil, err
	}
	res := &PipelineResult{Tag: cfg.Release.TagPrefix + version, Targets: len(cfg.Targets),
		Binary: packed.Payload.Size, Tarball: packed.Real.Sides[sideToolkit].Size}
	e := toolkit.New(cfg, toolkit.ReadFacts(w.o.Environ, false), io.Discard)
	cli, err := pack.CLIContents(e, version)
	if err != nil {
		return nil, err
	}
	info, err := cli.Integrity()
	if err != nil {
		return nil, err
	}
	res.CLI = info.Size

	w.out.Line(report.Wait, "the toolkit's start: %d cold (empty Go build and Mage caches), then warm", w.o.ColdRuns)
	if err := w.measureStart(ctx, &res.Start); err != nil {
		return nil, err
	}
	files := newReleaseFiles(cfg, version)
	files.binarySize, files.tarballSize, files.cliSize = res.Binary, res.Tarball, res.CLI
	files.toolkitSize, files.goBuildCache, files.goModCache = res.Start.Toolkit, res.Start.GoBuildCache, res.Start.ModCache

	after, err := ciconfig.CircleCI(cfg)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst           **PipelineCost
		label, source string
		data          []byte
	}{
		{&res.Before, "before", beforeSource, beforePipeline},
		{&res.After, "after", "`ciconfig.CircleCI` on the embedded release.json, as `ci:generate` writes it now", after},
	} {
		jobs, err := parseCircleCI(p.data, res.Tag)
		if err != nil {
			return nil, fmt.Errorf("bench: the %s pipeline: %w", p.label, err)
		}
		if len(jobs) == 0 {
			return nil, fmt.Errorf("bench: the %s pipeline runs no job for the tag %s", p.label, res.Tag)
		}
		costs, err := costPipeline(jobs, files, res.Start.costs())
		if err != nil {
			return nil, fmt.Errorf("bench: the %s pipeline: %w", p.label, err)
		}
		*p.dst = &PipelineCost{Label: p.label, Source: p.source, Jobs: costs}
		t := (*p.dst).Total()
		w.out.Line(report.OK, "%s: %d jobs; attached %s, persisted %s; %d compile the toolkit; its starts %s",
			p.label, len(costs), humanBytes(t.Attached), humanBytes(t.Persisted), t.Compiles, sec(t.Start))
	}
	return res, nil
}

// measureStart measures the toolkit's start. Kept warm throughout: the Go
// module cache (no module is downloaded: GOPROXY=off), the Go toolchain and
// the operating system's file cache.
func (w *world) measureStart(ctx context.Context, s *StartResult) error {
	root := w.o.RepoRoot
	// Untimed, with the user's caches: fetches any module not yet there.
	if _, _, err := run(ctx, root, nil, "go", "tool", "mage", startProbe); err != nil {
		return fmt.Errorf("bench: go tool mage %s: %w", startProbe, err)
	}
	for i := 0; i < w.o.ColdRuns; i++ {
		dir, err := os.MkdirTemp(w.work, "start-")
		if err != nil {
			return err
		}
		env := func(mage string) []string {
			return []string{"GOCACHE=" + filepath.Join(dir, "go-build"), "MAGEFILE_CACHE=" + filepath.Join(dir, mage),
				"GOPROXY=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local"}
		}
		for _, m := range []struct {
			dst  *[]Proc
			mage string
		}{{&s.Cold, "mage"}, {&s.WarmGo, "mage-fresh"}, {&s.Warm, "mage"}} {
			_, p, err := run(ctx, root, env(m.mage), "go", "tool", "mage", startProbe)
			if err != nil {
				return fmt.Errorf("bench: go tool mage %s with fresh caches: %w", startProbe, err)
			}
			*m.dst = append(*m.dst, p)
		}
		if s.GoBuildCache, err = dirSize(filepath.Join(dir, "go-build")); err != nil {
			return err
		}
		os.RemoveAll(dir)
		w.out.Line(report.OK, "start %d/%d: cold %s (%s of CPU), warm Go cache %s, warm %s; Go build cache %s",
			i+1, w.o.ColdRuns, sec(s.Cold[i].Wall), sec(s.Cold[i].CPU), sec(s.WarmGo[i].Wall), sec(s.Warm[i].Wall), mb(s.GoBuildCache))
	}
	bin := filepath.Join(w.work, "toolkit")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if _, _, err := run(ctx, root, nil, "go", "tool", "mage", "-compile", bin); err != nil {
		return fmt.Errorf("bench: go tool mage -compile: %w", err)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return err
	}
	s.Toolkit = st.Size()
	for i := 0; i < w.o.Runs; i++ {
		_, p, err := run(ctx, root, nil, bin, startProbe)
		if err != nil {
			return fmt.Errorf("bench: the compiled toolkit: %w", err)
		}
		s.Compiled = append(s.Compiled, p)
	}
	w.out.Line(report.OK, "compiled toolkit: %s, starts in %s", mb(s.Toolkit), sec(median(procWalls(s.Compiled))))
	if s.ModCache, err = modCacheSize(ctx, root); err != nil {
		return err
	}
	return nil
}

// modCacheSize is what `go mod download` keeps for this module's build
// list: each module's zip and extracted tree.
func modCacheSize(ctx context.Context, root string) (int64, error) {
	out, _, err := run(ctx, root, []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}, "go", "mod", "download", "-json")
	if err != nil {
		return 0, fmt.Errorf("bench: go mod download -json: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var total int64
	for dec.More() {
		var m struct{ Zip, Dir string }
		if err := dec.Decode(&m); err != nil {
			return 0, fmt.Errorf("bench: go mod download -json: %w", err)
		}
		if st, err := os.Stat(m.Zip); err == nil {
			total += st.Size()
		}
		n, _ := dirSize(m.Dir)
		total += n
	}
	return total, nil
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}
