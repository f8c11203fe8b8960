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

// LibraryWorkflow is the CircleCI workflow that releases one library on
// its own tag.
const LibraryWorkflow = "libraries"

// CircleCI returns the CircleCI configuration (.circleci/config.yml) of the
// release pipeline for cfg. The publish jobs run in the CircleCI context
// named by WithCircleCIContext, "bot-context" by default.
//
// The workflow runs only for tags matching TagRegexp(cfg) and for no branch.
// build runs `go tool mage build` and persists the dist directory;
// publish-platform runs `go tool mage publishPlatform <target>` as a matrix
// over cfg.Targets, each job named publish-platform-<target>; publish-cli
// requires all of them and publish-adapters, which runs
// `go tool mage publishAdapters` (on the CLI's tag: the libraries the CLI's
// source needs), and runs `go tool mage publishCLI`; release-status runs
// `go tool mage status <version>`. Every job of that workflow exports
// RELEASE_TAG and RELEASE_VERSION (the tag without the prefix) before
// running Mage. A second workflow runs publish-adapters alone for tags
// matching LibraryTagRegexp(cfg): one library's release.
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
	header := p.header("CircleCI", fmt.Sprintf("The publish jobs publish with npm trusted "+
		"publishing: Mage mints an OIDC token with `circleci run oidc get`. They run in the "+
		"context %q (%s), which the packages' trusted publisher on the registry names along "+
		"with the organization, project and pipeline definition in %s.", o.CircleCIContext, ctxIDs, p.source))

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
	// prepareLibrary starts the library job, which also runs on library
	// tags: no release version to export.
	prepareLibrary := func() []*yaml.Node {
		p := prepare()
		return append(p[:2:2], p[3:]...)
	}
	libraryFilters := func() *yaml.Node {
		return m(
			kv{key: "branches", value: m(kv{key: "ignore", value: str(circleAnyPath)})},
			kv{key: "tags", value: m(kv{key: "only", value: str("/" + LibraryTagRegexp(cfg) + "/")})},
		)
	}
	steps := func(groups ...[]*yaml.Node) *yaml.Node {
		var all []*yaml.Node
		for _, g := range groups {
			all = append(all, g...)
		}
		return seq(all...)
	}

	var install []*yaml.Node
	if p.bunBuild {
		install = []*yaml.Node{
			run("Install Bun "+o.BunVersion, "sudo npm install --global bun@"+o.BunVersion),
			run("Install dependencies", "bun install --frozen-lockfile"),
		}
	}
	buildSteps := append(prepare(), install...)
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
		kv{key: "steps", value: steps(prepare(), []*yaml.Node{
			checkCLI,
			attach,
			run("Publish "+cfg.PlatformPackage("<< parameters.target >>"), "go tool mage publishPlatform << parameters.target >>"),
		})},
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
			kv{key: CLIJob, value: job(checkCLI, attach, run("Publish "+cfg.CLI.Package, "go tool mage publishCLI")),
				comment: "Publishes the CLI package once every platform package is on the registry."},
			kv{key: AdaptersJob, value: m(
				kv{key: "executor", value: str(executorName)},
				kv{key: "steps", value: steps(prepareLibrary(), install, []*yaml.Node{checkCLI, run("Build and publish the library packages", "go tool mage publishAdapters")})},
			), comment: "Builds and publishes library packages: on a library's tag that library, on the CLI's tag the ones the CLI needs."},
			kv{key: StatusJob, value: job(run("Show the release's status", `go tool mage status "$RELEASE_VERSION"`)),
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
				kv{key: "requires", value: strs(append(platformNames, AdaptersJob)...)},
				kv{key: "filters", value: filters()},
			)}),
			m(kv{key: AdaptersJob, value: m(
				kv{key: "context", value: context()},
				kv{key: "filters", value: filters()},
			)}),
			m(kv{key: StatusJob, value: m(
				kv{key: "requires", value: strs(CLIJob)},
				kv{key: "filters", value: filters()},
			)}),
		)})}, kv{key: LibraryWorkflow, value: m(kv{key: "jobs", value: seq(
			m(kv{key: AdaptersJob, value: m(
				kv{key: "context", value: context()},
				kv{key: "filters", value: libraryFilters()},
			)}),
		)})})},
	)
	return encode(header, root)
}
