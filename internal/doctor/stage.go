package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/npmcli"
)

// MinStageNPM is the oldest npm with `npm stage` (staged publishing).
var MinStageNPM = semver.MustParse("11.15.0")

// StageNode is the Node.js npm's documentation asks for staged publishing.
// npm itself does not check it: npm 11.19.1 on Node.js 20.20.2 stages,
// lists, downloads, approves and rejects (the toolkit's tests run it so).
var StageNode = semver.MustParse("22.14.0")

// checkStage checks, in stage mode, that npm can stage and approve.
func checkStage(ctx context.Context, npm *npmcli.CLI, run *command.Runner) Result {
	v, err := npm.Version(ctx)
	if err != nil {
		return Result{Name: "npm stage", Level: Fail, Detail: err.Error(), Fix: "install Node.js with npm 11.15.0 or newer and put npm on PATH"}
	}
	node, err := output(ctx, run, command.Cmd{Name: "node", Args: []string{"--version"}})
	if err != nil {
		node = ""
	}
	return compareStage(v, node)
}

// compareStage judges npm's version and `node --version` output for
// staged publishing.
func compareStage(npm *semver.Version, nodeOut string) Result {
	r := Result{Name: "npm stage"}
	if npm.LessThan(MinStageNPM) {
		r.Level = Fail
		r.Detail = fmt.Sprintf("npm %s has no `npm stage`, and release.mode is stage", npm)
		r.Fix = fmt.Sprintf("npm install -g npm@^%s (in CI too: the generated stage-mode pipelines install %s)", MinStageNPM, MinStageNPM)
		return r
	}
	node, err := semver.NewVersion(strings.TrimPrefix(strings.TrimSpace(nodeOut), "v"))
	if err == nil && node.LessThan(StageNode) {
		r.Level = Warn
		r.Detail = fmt.Sprintf("npm %s stages on Node.js %s, but npm documents Node.js %s or newer for staged publishing", npm, node, StageNode)
		r.Fix = fmt.Sprintf("install Node.js %s or newer (22 LTS or later)", StageNode)
		return r
	}
	r.Detail = fmt.Sprintf("npm %s has `npm stage` (release.mode is stage)", npm)
	return r
}
