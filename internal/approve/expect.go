package approve

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/toolkit"
)

// expectation is what CI built for one package: the integrity a staged
// tarball must have, and where that was learned.
type expectation struct {
	Integrity string
	From      string
}

// publishOps are the operations whose reports say what CI built. A status
// report only repeats what the registry holds, so it proves nothing.
var publishOps = []string{"publishPlatform", "publishCLI", "publishAdapters"}

// fromReports reads every JSON report under dir (the RELEASE_REPORT files
// of the CI jobs, in any layout) and returns, by name@version, the
// integrity of what each job staged or found already there. Two reports
// that disagree are an error naming both.
func fromReports(dir string) (map[string]expectation, error) {
	out := map[string]expectation{}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := releasereport.Validate(data); err != nil {
			return fmt.Errorf("%s is not a release report: %w", path, err)
		}
		var r releasereport.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if !slices.Contains(publishOps, r.Operation) {
			return nil
		}
		files++
		for _, p := range r.Packages {
			switch outcome.Action(p.Action) {
			case outcome.Staged, outcome.Published, outcome.Identical:
			default:
				continue
			}
			if p.Integrity == "" {
				continue
			}
			key := p.Name + "@" + p.Version
			if prev, ok := out[key]; ok && prev.Integrity != p.Integrity {
				return fmt.Errorf("the reports disagree about %s: %s says %s, %s says %s; use the reports of one CI run", key, prev.From, prev.Integrity, path, p.Integrity)
			}
			out[key] = expectation{Integrity: p.Integrity, From: path}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the CI reports in %s: %w", dir, err)
	}
	if files == 0 {
		return nil, fmt.Errorf("%s holds no report of %s: point -reports at the RELEASE_REPORT files the CI jobs wrote", dir, strings.Join(publishOps, ", "))
	}
	return out, nil
}

// fromBuild computes, in memory, the integrities of the platform packages
// whose binaries are in the dist directory and of the CLI package, as the
// publishing targets pack them (the toolkit's tarballs are deterministic).
// Libraries are packed by npm, whose gzip output depends on the Node.js
// release: they are checked only against reports.
func fromBuild(e *toolkit.Env, v string) (map[string]expectation, int, error) {
	out := map[string]expectation{}
	binaries := 0
	for _, t := range e.Cfg.PlatformTargets() {
		if _, err := os.Stat(e.Cfg.BinaryPath(t)); err != nil {
			continue
		}
		c, err := pack.PlatformContents(e, t, v)
		if err != nil {
			return nil, 0, err
		}
		info, err := c.Integrity()
		if err != nil {
			return nil, 0, err
		}
		out[e.Cfg.PlatformPackage(t.Name)+"@"+v] = expectation{Integrity: info.Integrity, From: "the local build (" + e.Cfg.BinaryPath(t) + ")"}
		binaries++
	}
	c, err := pack.CLIContents(e, v)
	if err != nil {
		return nil, 0, err
	}
	info, err := c.Integrity()
	if err != nil {
		return nil, 0, err
	}
	out[e.Cfg.CLI.Package+"@"+v] = expectation{Integrity: info.Integrity, From: "the CLI package as " + e.Cfg.File + " makes it"}
	return out, binaries, nil
}
