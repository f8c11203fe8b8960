package ciconfig

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/publisher"
)

// distArchive is the tar file that carries the dist directory between
// GitHub jobs: artifacts do not keep the executable bit, a tar file does.
const distArchive = "dist.tar"

// GitHubActions returns the GitHub Actions workflow (.github/workflows/release.yml)
// of the release pipeline for cfg: the same jobs as CircleCI, chained with
// needs:, for pushes of tags matching the tag prefix followed by a version.
// The publish jobs get `permissions: id-token: write`, so npm fetches the
// OIDC token itself; the packages' trusted publisher on the registry must
// then name this repository and workflow file (release.json's
// trustedPublisher describes CircleCI only).
func GitHubActions(cfg *config.Config, opts ...Option) ([]byte, error) {
	p, err := newPlan(cfg, opts)
	if err != nil {
		return nil, err
	}
	o := p.opts
	note := "The publish jobs have `permissions: id-token: write`: " +
		"npm fetches the OIDC token itself and publishes with npm trusted publishing once the " +
		"packages' trusted publisher on the registry names this repository and workflow file. " +
		p.source + " describes the CircleCI trusted publisher of the CircleCI pipeline; attach a " +
		"GitHub Actions one to publish from here."
	if tp := cfg.TrustedPublisher; tp.Provider == publisher.GitHub {
		note = fmt.Sprintf("The publish jobs have `permissions: id-token: write`: Mage and npm fetch the "+
			"OIDC token from GitHub and publish with npm trusted publishing as the trusted publisher "+
			"in %s: the repository %s, this workflow file (%s)", p.source, tp.Repository, tp.Workflow)
		if env := p.githubEnvironment(); env != "" {
			note += fmt.Sprintf(", in the environment %q (`environment:` on the publish jobs)", env)
		}
		note += "."
	}
	notes := []string{note}
	if p.staged {
		notes = append(notes, p.stageNote())
	}
	header := p.header("GitHub Actions", notes...)

	uses := func(action string, with ...kv) *yaml.Node {
		entries := []kv{{key: "uses", value: str(action)}}
		if len(with) > 0 {
			entries = append(entries, kv{key: "with", value: m(with...)})
		}
		return m(entries...)
	}
	run := func(name, command string, env ...kv) *yaml.Node {
		entries := []kv{{key: "name", value: str(name)}}
		if len(env) > 0 {
			entries = append(entries, kv{key: "env", value: m(env...)})
		}
		return m(append(entries, kv{key: "run", value: str(command)})...)
	}
	setup := func() []*yaml.Node {
		return []*yaml.Node{
			uses("actions/checkout@v4"),
			uses("actions/setup-go@v5", kv{key: "go-version-file", value: str("go.mod")}),
			uses("actions/setup-node@v4", kv{key: "node-version", value: str(o.NodeVersion)}),
			run("Install npm "+o.NPMVersion, "npm install --global npm@"+o.NPMVersion),
			run("Export the release version from the tag", p.versionScript("GITHUB_REF_NAME", "GITHUB_ENV", `%s=%s\n`)),
			run("Show tool versions", "go version\nnode --version\nnpm --version\n"),
		}
	}
	unpack := func() []*yaml.Node {
		return []*yaml.Node{
			uses("actions/download-artifact@v4", kv{key: "name", value: str("dist")}),
			run("Unpack the built binaries", "tar -xf "+distArchive+"\nrm "+distArchive+"\n"),
		}
	}
	readOnly := m(kv{key: "contents", value: str("read")})
	publishPerms := func() *yaml.Node {
		return m(kv{key: "contents", value: str("read")}, kv{key: "id-token", value: str("write")})
	}
	job := func(needs *yaml.Node, perms *yaml.Node, extra []kv, steps ...[]*yaml.Node) *yaml.Node {
		var entries []kv
		if len(extra) > 0 && extra[0].key == "name" {
			entries, extra = append(entries, extra[0]), extra[1:]
		}
		entries = append(entries, kv{key: "runs-on", value: str("ubuntu-latest")})
		if needs != nil {
			entries = append(entries, kv{key: "needs", value: needs})
		}
		if perms != nil {
			entries = append(entries, kv{key: "permissions", value: perms})
			// The publishing jobs run in the trusted publisher's environment.
			if env := p.githubEnvironment(); env != "" {
				entries = append(entries, kv{key: "environment", value: str(env)})
			}
		}
		entries = append(entries, extra...)
		var all []*yaml.Node
		for _, s := range steps {
			all = append(all, s...)
		}
		return m(append(entries, kv{key: "steps", value: seq(all...)})...)
	}

	buildSteps := []*yaml.Node{}
	if p.bunBuild {
		buildSteps = append(buildSteps,
			run("Install Bun "+o.BunVersion, "npm install --global bun@"+o.BunVersion),
			run("Install dependencies", "bun install --frozen-lockfile"),
		)
	}
	buildSteps = append(buildSteps,
		run("Build every target", "go tool mage build"),
		run("Pack the built binaries", fmt.Sprintf("tar -cf %s %s\n", distArchive, p.dist)),
		uses("actions/upload-artifact@v4",
			kv{key: "name", value: str("dist")},
			kv{key: "path", value: str(distArchive)},
			kv{key: "if-no-files-found", value: str("error")},
			kv{key: "retention-days", value: integer(1)},
		),
	)

	// publish is the step that runs a publishing target; in stage mode it
	// stages, and its report is kept as an artifact for release:approve.
	verb := "Publish"
	if p.staged {
		verb = "Stage"
	}
	publish := func(what, command, report string, env ...kv) []*yaml.Node {
		if !p.staged {
			return []*yaml.Node{run(verb+" "+what, command, env...)}
		}
		env = append(env, kv{key: "RELEASE_REPORT", value: str(ReportsDir + "/" + report + ".json")})
		return []*yaml.Node{
			run(verb+" "+what, command+p.modeArg(), env...),
			m(
				kv{key: "if", value: str("always()")},
				kv{key: "uses", value: str("actions/upload-artifact@v4")},
				kv{key: "with", value: m(
					kv{key: "name", value: str("release-report-" + report)},
					kv{key: "path", value: str(ReportsDir + "/")},
					kv{key: "if-no-files-found", value: str("warn")},
				)},
			),
		}
	}

	platform := job(strs(BuildJob), publishPerms(), []kv{
		{key: "name", value: str(PlatformJob + "-${{ matrix.target }}")},
		{key: "strategy", value: m(
			kv{key: "fail-fast", value: boolean(false)},
			kv{key: "matrix", value: m(kv{key: "target", value: strs(p.targets...)})},
		)},
	}, setup(), unpack(), publish(cfg.PlatformPackage("${{ matrix.target }}"), `go tool mage publishPlatform "$TARGET"`, PlatformJob+"-${{ matrix.target }}",
		kv{key: "TARGET", value: str("${{ matrix.target }}")}))

	root := m(
		kv{key: "name", value: str(WorkflowName)},
		kv{key: "on", value: m(kv{key: "push", value: m(kv{key: "tags", value: strs(p.tagGlob())})})},
		kv{key: "permissions", value: readOnly},
		kv{key: "concurrency", value: m(
			kv{key: "group", value: str("release-${{ github.ref_name }}")},
			kv{key: "cancel-in-progress", value: boolean(false)},
		)},
		kv{key: "jobs", value: m(
			kv{key: BuildJob, value: job(nil, nil, nil, setup(), buildSteps),
				comment: "Builds every target and keeps the binaries for the publish jobs."},
			kv{key: PlatformJob, value: platform,
				comment: "Publishes one platform package per target."},
			kv{key: CLIJob, value: job(strs(PlatformJob), publishPerms(), nil, setup(), unpack(),
				publish(cfg.CLI.Package, "go tool mage publishCLI", CLIJob)),
				comment: "Publishes the CLI package once every platform package is on the registry."},
			kv{key: AdaptersJob, value: job(strs(CLIJob), publishPerms(), nil, setup(),
				publish("the adapter packages", "go tool mage publishAdapters", AdaptersJob)),
				comment: "Publishes the adapter (library) packages."},
			kv{key: StatusJob, value: job(strs(AdaptersJob), nil, nil, setup(),
				[]*yaml.Node{run("Show the release's status", `go tool mage status "$RELEASE_VERSION"`+p.modeArg())}),
				comment: "Prints what the registry now holds for this version."},
		)},
	)
	return encode(header, root)
}
