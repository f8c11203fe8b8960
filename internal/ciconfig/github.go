package ciconfig

import (
	"fmt"
	"strings"

	"github.com/agent-facets/release/internal/publisher"

	"gopkg.in/yaml.v3"

	"github.com/agent-facets/release/internal/config"
)

// GitHubActions returns the GitHub Actions workflow (.github/workflows/release.yml)
// of the release pipeline for cfg: the jobs of Jobs, chained with needs:,
// for pushes of CLI tags and library tags, handing the toolkit, the
// records and the archives on as artifacts. The publish jobs get
// `permissions: id-token: write`, so npm fetches the OIDC token itself; the
// packages' trusted publisher on the registry must then name this
// repository and workflow file (release.json's trustedPublisher describes
// CircleCI only). Jobs that must not run in two releases at once share a
// concurrency group; a notify-failure job posts the failure notice.
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
		note = fmt.Sprintf("The publish jobs have `permissions: id-token: write`: the toolkit and npm fetch the "+
			"OIDC token from GitHub and publish with npm trusted publishing as the trusted publisher "+
			"in %s: the repository %s, this workflow file (%s)", p.source, tp.Repository, tp.Workflow)
		if env := p.githubEnvironment(); env != "" {
			note += fmt.Sprintf(", in the environment %q (`environment:` on the publish jobs)", env)
		}
		note += "."
	}
	notes := []string{note + " github-release uses the workflow's GITHUB_TOKEN " +
		"(`contents: write`); the notices use the SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL secret."}
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
	tool := ToolkitBinary
	cliVersion := run("Export the release version from the tag", p.versionScript("GITHUB_REF_NAME", "GITHUB_ENV", `%s=%s\n`))
	node := func(npm bool) []*yaml.Node {
		steps := []*yaml.Node{uses("actions/setup-node@v4", kv{key: "node-version", value: str(o.NodeVersion)})}
		if npm {
			steps = append(steps, run("Install npm "+o.NPMVersion, "npm install --global npm@"+o.NPMVersion))
		}
		return steps
	}
	toolkit := []*yaml.Node{
		uses("actions/download-artifact@v4", kv{key: "name", value: str(KindToolkit)}, kv{key: "path", value: str(dirOf(tool))}),
		run("Check the toolkit compiled by the build job", "chmod +x "+tool+"\n"+tool+" -l >/dev/null\n"),
	}
	bun := []*yaml.Node{}
	if len(cfg.Build.Command) > 0 && cfg.Build.Command[0] == "go" {
		// A Go build command (a CLI written in Go) needs Go in the jobs that build.
		bun = append(bun, uses("actions/setup-go@v5", kv{key: "go-version-file", value: str("go.mod")}))
	}
	if p.bunBuild {
		bun = append(bun,
			uses("actions/cache@v4", kv{key: "path", value: str("~/.bun/install/cache")},
				kv{key: "key", value: str("bun-v1-${{ hashFiles('" + p.tools.BunLock + "') }}")}),
			run("Install Bun "+o.BunVersion+" (pinned in "+orWord(p.tools.BunFrom, "the options")+")", "npm install --global bun@"+o.BunVersion),
			run("Install dependencies", "bun install --frozen-lockfile"),
		)
	}
	upload := func(name, path string) *yaml.Node {
		return uses("actions/upload-artifact@v4",
			kv{key: "name", value: str(name)},
			kv{key: "path", value: str(path)},
			kv{key: "if-no-files-found", value: str("error")},
			kv{key: "retention-days", value: integer(1)},
		)
	}
	cat := func(groups ...[]*yaml.Node) *yaml.Node {
		var all []*yaml.Node
		for _, g := range groups {
			all = append(all, g...)
		}
		return seq(all...)
	}
	checkout := []*yaml.Node{uses("actions/checkout@v4")}
	readOnly := func() *yaml.Node { return m(kv{key: "contents", value: str("read")}) }
	publishPerms := func() *yaml.Node {
		return m(kv{key: "contents", value: str("read")}, kv{key: "id-token", value: str("write")})
	}
	// The publishing jobs run in the trusted publisher's environment, if it
	// names one.
	publishEnv := kv{}
	if env := p.githubEnvironment(); env != "" {
		publishEnv = kv{key: "environment", value: str(env)}
	}
	// publish runs a publishing target; in stage mode it stages, and its
	// report is kept as an artifact for release:approve.
	publish := func(verb, what, command, report string, env ...kv) []*yaml.Node {
		if !p.staged {
			return []*yaml.Node{run(verb+" "+what, command, env...)}
		}
		env = append(env, kv{key: "RELEASE_REPORT", value: str(ReportsDir + "/" + report + ".json")})
		return []*yaml.Node{
			run(stageVerb(verb)+" "+what, command+p.modeArg(), env...),
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
	group := func(kind string) kv {
		return kv{key: "concurrency", value: m(
			kv{key: "group", value: str("${{ github.workflow }}-" + kind)},
			kv{key: "cancel-in-progress", value: boolean(false)},
		)}
	}
	job := func(entries ...kv) *yaml.Node {
		out := []kv{}
		rest := []kv{}
		for _, e := range entries {
			if e.key == "name" || e.key == "if" {
				out = append(out, e)
			} else {
				rest = append(rest, e)
			}
		}
		out = append(out, kv{key: "runs-on", value: str("ubuntu-latest")})
		return m(append(out, rest...)...)
	}
	cliOnly := kv{key: "if", value: str("startsWith(github.ref_name, '" + p.prefix + "')")}
	slackEnv := []kv{{key: "SLACK_BOT_TOKEN", value: str("${{ secrets.SLACK_BOT_TOKEN }}")}, {key: "SLACK_WEBHOOK_URL", value: str("${{ secrets.SLACK_WEBHOOK_URL }}")}}

	cliJobs := []string{PlatformJob, AssetsJob, CLIJob, AdaptersJob, GitHubJob, StatusJob, NotifyJob}
	jobs := m(
		kv{key: BuildJob, comment: "Compiles the toolkit once; every later job runs the binary.", value: job(
			kv{key: "steps", value: cat(checkout, []*yaml.Node{
				uses("actions/setup-go@v5", kv{key: "go-version-file", value: str("go.mod")}),
				run("Export the release tag", p.eitherScript()),
				run("Compile the toolkit into "+tool, "CGO_ENABLED=0 go tool mage -compile "+tool+"\n"+tool+" -l\n"),
				upload(KindToolkit, tool),
			})},
		)},
		kv{key: PlatformJob, comment: "Builds one target and publishes its platform package, once per target.", value: job(
			kv{key: "name", value: str(PlatformJob + "-${{ matrix.target }}")},
			cliOnly,
			kv{key: "needs", value: strs(BuildJob)},
			kv{key: "permissions", value: publishPerms()},
			publishEnv,
			kv{key: "strategy", value: m(
				kv{key: "fail-fast", value: boolean(false)},
				kv{key: "matrix", value: m(kv{key: "target", value: strs(p.targets...)})},
			)},
			kv{key: "steps", value: cat(checkout, node(true), []*yaml.Node{cliVersion}, toolkit, bun, []*yaml.Node{
				run("Build ${{ matrix.target }}", tool+` build -target="$TARGET"`, kv{key: "TARGET", value: str("${{ matrix.target }}")}),
			}, publish("Publish", cfg.PlatformPackage("${{ matrix.target }}"), tool+` publishPlatform "$TARGET"`, PlatformJob+"-${{ matrix.target }}", kv{key: "TARGET", value: str("${{ matrix.target }}")}), []*yaml.Node{
				upload(KindRecords+"-${{ matrix.target }}", p.dist+"/npm/*.json"),
			})},
		)},
		kv{key: AssetsJob, comment: "Builds the archives' targets and makes the standalone archives; npm publishing never waits for it.", value: job(
			cliOnly,
			kv{key: "needs", value: strs(BuildJob)},
			kv{key: "steps", value: cat(checkout, node(false), []*yaml.Node{cliVersion}, toolkit, bun, []*yaml.Node{
				run("Build "+strings.Join(p.sources, ", "), tool+" build -target="+strings.Join(p.sources, ",")),
				run("Make the archives and "+cfg.Assets.Checksums, tool+" releaseAssets"),
				upload(KindArchives, p.assets),
			})},
		)},
		kv{key: CLIJob, comment: "Publishes the CLI package once every platform package is on the registry with this build's bytes.", value: job(
			kv{key: "needs", value: strs(PlatformJob, AdaptersJob)},
			kv{key: "permissions", value: publishPerms()},
			publishEnv,
			group("npm"),
			kv{key: "steps", value: cat(checkout, node(true), []*yaml.Node{cliVersion}, toolkit, []*yaml.Node{
				uses("actions/download-artifact@v4", kv{key: "pattern", value: str(KindRecords + "-*")}, kv{key: "merge-multiple", value: boolean(true)}, kv{key: "path", value: str(p.dist + "/npm")}),
			}, publish("Publish", cfg.CLI.Package, tool+" publishCLI", CLIJob), []*yaml.Node{})},
		)},
		kv{key: AdaptersJob, comment: "Builds and publishes the library packages the CLI needs that are not on the registry yet; the CLI package waits for it.", value: job(
			cliOnly,
			kv{key: "needs", value: strs(BuildJob)},
			kv{key: "permissions", value: publishPerms()},
			publishEnv,
			group("npm"),
			kv{key: "steps", value: cat(checkout, node(true), []*yaml.Node{cliVersion}, toolkit, bun, []*yaml.Node{}, publish("Build and publish", "the library packages", tool+" publishAdapters", AdaptersJob), []*yaml.Node{})},
		)},
		kv{key: GitHubJob, comment: "Creates or updates the GitHub Release of the tag with the archives.", value: job(
			kv{key: "needs", value: strs(AssetsJob, CLIJob)},
			kv{key: "permissions", value: m(kv{key: "contents", value: str("write")})},
			group("github"),
			kv{key: "steps", value: cat(checkout, []*yaml.Node{cliVersion}, toolkit, []*yaml.Node{
				uses("actions/download-artifact@v4", kv{key: "name", value: str(KindArchives)}, kv{key: "path", value: str(p.assets)}),
				run("Create the GitHub Release", tool+" githubRelease", kv{key: "GITHUB_TOKEN", value: str("${{ secrets.GITHUB_TOKEN }}")}),
			})},
		)},
		kv{key: StatusJob, comment: "Prints what the registry now holds for this version.", value: job(
			kv{key: "needs", value: strs(CLIJob)},
			kv{key: "steps", value: cat(checkout, node(false), []*yaml.Node{cliVersion}, toolkit, []*yaml.Node{
				run("Show the release's status", tool+` status "$RELEASE_VERSION"`+p.modeArg()),
			})},
		)},
		kv{key: NotifyJob, comment: "Posts the success notice.", value: job(
			kv{key: "needs", value: strs(GitHubJob, StatusJob)},
			kv{key: "steps", value: cat(checkout, node(false), []*yaml.Node{cliVersion}, toolkit, []*yaml.Node{
				run("Post the release notice to Slack", tool+" notify success", slackEnv...),
			})},
		)},
		kv{key: NoticeJob, comment: "Posts the failure notice when a job of a CLI release failed.", value: job(
			kv{key: "if", value: str("failure() && startsWith(github.ref_name, '" + p.prefix + "')")},
			kv{key: "needs", value: strs(append([]string{BuildJob}, cliJobs...)...)},
			kv{key: "steps", value: cat(checkout, []*yaml.Node{
				uses("actions/setup-go@v5", kv{key: "go-version-file", value: str("go.mod")}),
			}, node(false), []*yaml.Node{cliVersion,
				run("Post the failure notice to Slack",
					"failed=$(printf '%s' \"$NEEDS\" | jq -r 'to_entries | map(select(.value.result == \"failure\") | .key) | join(\", \")')\n"+
						"go tool mage notify failure -failed=\"${failed:-a job}\"\n",
					append([]kv{{key: "NEEDS", value: str("${{ toJSON(needs) }}")}}, slackEnv...)...),
			})},
		)},
		kv{key: LibraryJob, comment: "Library tags: builds and publishes the tag's library package (publishAdapters reads the tag).", value: job(
			kv{key: "if", value: str("startsWith(github.ref_name, '" + cfg.Scope + "/')")},
			kv{key: "needs", value: strs(BuildJob)},
			kv{key: "permissions", value: publishPerms()},
			publishEnv,
			group("npm"),
			kv{key: "steps", value: cat(checkout, node(true), []*yaml.Node{
				run("Export the library release's tag", p.libraryScript("GITHUB_REF_NAME", "GITHUB_ENV", `%s=%s\n`)),
			}, toolkit, bun, []*yaml.Node{}, publish("Build and publish", cfg.Scope+"/<name>", tool+" publishAdapters", LibraryJob), []*yaml.Node{})},
		)},
	)

	root := m(
		kv{key: "name", value: str(WorkflowName)},
		kv{key: "on", value: m(kv{key: "push", value: m(kv{key: "tags", value: strs(p.tagGlob(), p.libraryGlob())})})},
		kv{key: "permissions", value: readOnly()},
		kv{key: "concurrency", value: m(
			kv{key: "group", value: str("release-${{ github.ref_name }}")},
			kv{key: "cancel-in-progress", value: boolean(false)},
		)},
		kv{key: "jobs", value: jobs},
	)
	return encode(header, root)
}

// eitherScript exports RELEASE_TAG, and RELEASE_VERSION for a CLI tag:
// the build job runs for both kinds of tag.
func (p *plan) eitherScript() string {
	return fmt.Sprintf("case \"$GITHUB_REF_NAME\" in\n  %s*)\n%s  ;;\n  *)\n%s  ;;\nesac\n",
		p.prefix, indent(p.versionScript("GITHUB_REF_NAME", "GITHUB_ENV", `%s=%s\n`), "    "),
		indent(p.libraryScript("GITHUB_REF_NAME", "GITHUB_ENV", `%s=%s\n`), "    "))
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func dirOf(path string) string {
	if i := strings.LastIndex(path, "/"); i >= 0 {
		return path[:i]
	}
	return "."
}
