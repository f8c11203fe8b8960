package ciconfig

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/agent-facets/release/internal/publisher"
)

// minStageNPM is the oldest npm with `npm stage`.
var minStageNPM = semver.MustParse("11.15.0")

// ReportsDir is where the publish jobs of a stage-mode pipeline write
// their JSON reports (RELEASE_REPORT), kept as artifacts: what
// `mage release:approve -reports=<dir>` checks the staged tarballs against.
const ReportsDir = "reports"

// stageMode adapts the plan to release.mode: in stage mode every job
// installs an npm that has `npm stage` (the default npm is raised to
// 11.15.0; an older one given on purpose is an error).
func (p *plan) stageMode() error {
	p.staged = p.cfg.Staged()
	if !p.staged {
		return nil
	}
	v, _ := semver.StrictNewVersion(p.opts.NPMVersion) // checked by resolve
	switch {
	case v == nil || !v.LessThan(minStageNPM):
	case p.opts.NPMVersion == DefaultNPMVersion:
		p.opts.NPMVersion = minStageNPM.String()
	default:
		return fmt.Errorf("generate CI configuration from %s: release.mode is stage, and npm %s has no `npm stage`: use npm %s or newer", p.source, p.opts.NPMVersion, minStageNPM)
	}
	return nil
}

// modeArg is what the publishing steps add to their Mage command line.
func (p *plan) modeArg() string {
	if p.staged {
		return " -mode=stage"
	}
	return ""
}

// githubEnvironment is the deployment environment the GitHub publish jobs
// run in: the GitHub trusted publisher's, if it names one.
func (p *plan) githubEnvironment() string {
	if tp := p.cfg.TrustedPublisher; tp.Provider == publisher.GitHub {
		return tp.Environment
	}
	return ""
}

// stageNote is the header paragraph of a stage-mode pipeline.
func (p *plan) stageNote() string {
	return fmt.Sprintf("release.mode is stage: the publish jobs stage every package (npm stage publish) "+
		"and keep their reports (RELEASE_REPORT) as artifacts under %s/; nothing is public until a "+
		"maintainer downloads them and runs `go tool mage release:approve <version> -reports=<dir>` "+
		"with 2FA, which approves the platform packages and libraries first and %s last.", ReportsDir, p.cfg.CLI.Package)
}

// stageVerb is a publishing step's verb in stage mode: "Publish" becomes
// "Stage", "Build and publish" "Build and stage".
func stageVerb(verb string) string {
	switch verb {
	case "Publish":
		return "Stage"
	case "Build and publish":
		return "Build and stage"
	}
	return verb
}
