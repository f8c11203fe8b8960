package ciconfig

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/agent-facets/release/internal/config"
)

// CircleCI job names. The matrix jobs are named PlatformJob + "-" + target.
const (
	BuildJob      = "build"
	PlatformJob   = "publish-platform"
	CLIJob        = "publish-cli"
	AdaptersJob   = "publish-adapters"
	StatusJob     = "release-status"
	WorkflowName  = "release"
	executorName  = "release"
	circleAnyPath = "/.*/"
)

// CircleCI returns the CircleCI configuration (.circleci/config.yml) of the
// release pipeline for cfg. The publish jobs run in the CircleCI context
// named by WithCircleCIContext, "bot-context" by default.
//
// The workflow runs only for tags matching TagRegexp(cfg) and for no branch.
// build runs `go tool mage build` and persists the dist directory;
// publish-platform runs `go tool mage publishPlatform <target>` as a matrix
// over cfg.Targets, each job named publish-platform-<target>; publish-cli
// requires all of them and runs `go tool mage publishCLI`; publish-adapters
// follows and runs `go tool mage publishAdapters`; release-status runs
// `go tool mage status <version>`. Every job exports RELEASE_TAG and
// RELEASE_VERSION (the tag without the prefix) before running Mage.
func CircleCI(cfg *config.Config, opts ...Option) ([]byte, error) {
	p, err := newPlan(cfg, opts)
	if err != nil {
		return nil, err
	}
	o := p.opts
	ctxIDs := "the context's id"
	if ids := cfg.TrustedPublisher.ContextIDs; len(ids) > 0 {
		ctxIDs = "id " + strings.Join(ids, ", ")
	}
	notes := []string{fmt.Sprintf("The publish jobs publish with npm trusted "+
		"publishing: Mage mints an OIDC token with `circleci run oidc get`. They run in the "+
		"context %q (%s), which the packages' trusted publisher on the registry names along "+
		"with the organization, project and pipeline definition in %s.", o.CircleCIContext, ctxIDs, p.source)}
	if p.staged {
		notes = append(notes, p.stageNote())
	}
	header := p.header("CircleCI", notes...)

	filters := func() *yaml.Node {
		return m(
			kv{key: "branches", value: m(kv{key: "ignore", value: str(circleAnyPath)})},
			kv{key: "tags", value: m(kv{key: "only", value: str("/" + TagRegexp(cfg) + "/")})},
		)
	}
	context := func() *yaml.Node { return strs(o.CircleCIContext) }
	run := func(name, command string) *yaml.Node {
		return m(kv{key: "run", value: m(
			kv{key: "name", value: str(name)},
			kv{key: "command", value: str(command)},
		)})
	}
	attach := m(kv{key: "attach_workspace", value: m(kv{key: "at", value: str(".")})})
	// publish is the step that runs a publishing target; in stage mode it
	// stages, and its report is kept as an artifact for release:approve.
	verb := "Publish"
	if p.staged {
		verb = "Stage"
	}
	publish := func(what, command, report string) []*yaml.Node {
		if !p.staged {
			return []*yaml.Node{run(verb+" "+what, command)}
		}
		return []*yaml.Node{
			m(kv{key: "run", value: m(
				kv{key: "name", value: str(verb + " " + what)},
				kv{key: "environment", value: m(kv{key: "RELEASE_REPORT", value: str(ReportsDir + "/" + report + ".json")})},
				kv{key: "command", value: str(command + p.modeArg())},
			)}),
			m(kv{key: "store_artifacts", value: m(kv{key: "path", value: str(ReportsDir)}, kv{key: "destination", value: str(ReportsDir)})}),
		}
	}
	checkCLI := run("Check that the CircleCI CLI is available (it mints the OIDC token)",
		"if ! command -v circleci >/dev/null; then\n"+
			"  echo \"the circleci CLI is not on PATH: trusted publishing mints its OIDC token with 'circleci run oidc get'\" >&2\n"+
			"  exit 1\n"+
			"fi\n")

	// prepare starts every job. It is spelled out in each job rather than
	// made a reusable command, so that each job reads on its own.
	prepare := func() []*yaml.Node {
		return []*yaml.Node{
			str("checkout"),
			run("Install npm "+o.NPMVersion+" (trusted publishing from CircleCI needs 11.11.0 or newer)", "sudo npm install --global npm@"+o.NPMVersion),
			run("Export the release version from the tag", p.versionScript("CIRCLE_TAG", "BASH_ENV", `export %s=%s\n`)),
			run("Show tool versions", "go version\nnode --version\nnpm --version\n"),
		}
	}
	steps := func(groups ...[]*yaml.Node) *yaml.Node {
		var all []*yaml.Node
		for _, g := range groups {
			all = append(all, g...)
		}
		return seq(all...)
	}

	buildSteps := prepare()
	if p.bunBuild {
		buildSteps = append(buildSteps,
			run("Install Bun "+o.BunVersion, "sudo npm install --global bun@"+o.BunVersion),
			run("Install dependencies", "bun install --frozen-lockfile"),
		)
	}
	buildSteps = append(buildSteps,
		run("Build every target", "go tool mage build"),
		m(kv{key: "persist_to_workspace", value: m(
			kv{key: "root", value: str(".")},
			kv{key: "paths", value: strs(p.dist)},
		)}),
	)

	job := func(rest ...*yaml.Node) *yaml.Node {
		return m(
			kv{key: "executor", value: str(executorName)},
			kv{key: "steps", value: steps(prepare(), rest)},
		)
	}
	platformJob := m(
		kv{key: "parameters", value: m(kv{key: "target", value: m(
			kv{key: "type", value: str("enum")},
			kv{key: "enum", value: strs(p.targets...)},
			kv{key: "description", value: str("The platform target whose package this job publishes.")},
		)})},
		kv{key: "executor", value: str(executorName)},
		kv{key: "steps", value: steps(prepare(), []*yaml.Node{checkCLI, attach},
			publish(cfg.PlatformPackage("<< parameters.target >>"), "go tool mage publishPlatform << parameters.target >>", PlatformJob+"-<< parameters.target >>"))},
	)

	platformNames := make([]string, len(p.targets))
	for i, t := range p.targets {
		platformNames[i] = PlatformJob + "-" + t
	}

	root := m(
		kv{key: "version", value: num("2.1")},
		kv{key: "executors", value: m(kv{key: executorName, value: m(
			kv{key: "docker", value: seq(m(kv{key: "image", value: str(o.GoImage)}))},
		)})},
		kv{key: "jobs", value: m(
			kv{key: BuildJob, value: m(kv{key: "executor", value: str(executorName)}, kv{key: "steps", value: seq(buildSteps...)}), comment: "Builds every target and keeps the binaries for the publish jobs."},
			kv{key: PlatformJob, value: platformJob, comment: "Publishes one platform package; the workflow runs it once per target."},
			kv{key: CLIJob, value: job(append([]*yaml.Node{checkCLI, attach}, publish(cfg.CLI.Package, "go tool mage publishCLI", CLIJob)...)...),
				comment: "Publishes the CLI package once every platform package is on the registry."},
			kv{key: AdaptersJob, value: job(append([]*yaml.Node{checkCLI}, publish("the adapter packages", "go tool mage publishAdapters", AdaptersJob)...)...),
				comment: "Publishes the adapter (library) packages."},
			kv{key: StatusJob, value: job(run("Show the release's status", `go tool mage status "$RELEASE_VERSION"`+p.modeArg())),
				comment: "Prints what the registry now holds for this version."},
		)},
		kv{key: "workflows", value: m(kv{key: WorkflowName, value: m(kv{key: "jobs", value: seq(
			m(kv{key: BuildJob, value: m(
				kv{key: "filters", value: filters()},
			)}),
			m(kv{key: PlatformJob, value: m(
				kv{key: "name", value: str(PlatformJob + "-<< matrix.target >>")},
				kv{key: "matrix", value: m(kv{key: "parameters", value: m(kv{key: "target", value: strs(p.targets...)})})},
				kv{key: "context", value: context()},
				kv{key: "requires", value: strs(BuildJob)},
				kv{key: "filters", value: filters()},
			)}),
			m(kv{key: CLIJob, value: m(
				kv{key: "context", value: context()},
				kv{key: "requires", value: strs(platformNames...)},
				kv{key: "filters", value: filters()},
			)}),
			m(kv{key: AdaptersJob, value: m(
				kv{key: "context", value: context()},
				kv{key: "requires", value: strs(CLIJob)},
				kv{key: "filters", value: filters()},
			)}),
			m(kv{key: StatusJob, value: m(
				kv{key: "requires", value: strs(AdaptersJob)},
				kv{key: "filters", value: filters()},
			)}),
		)})})},
	)
	return encode(header, root)
}
