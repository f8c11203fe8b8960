package ciconfig

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/agent-facets/release/internal/config"
)

const (
	executorName  = "release"
	circleAnyPath = "/.*/"
)

// CircleCI returns the CircleCI configuration (.circleci/config.yml) of the
// release pipeline for cfg: the jobs of Jobs, their steps made of reusable
// commands (setup, toolkit, bun, oidc-check, notify-failure), in the
// contexts, resource classes and serial groups of release.json's ci
// section.
//
// The release workflow runs only for tags matching TagRegexp(cfg), the
// library workflow only for tags matching LibraryTagRegexp(cfg), and
// neither for a branch.
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
	c := cfg.CI.Contexts
	serial := "Publishing and the GitHub Release run in the serial groups `" + p.serialGroup("npm") + "` and `" + p.serialGroup("github") + "`, so two releases never race."
	if p.serialGroup("npm") == "" {
		serial = "No serial groups (ci.serialGroup is \"none\"): two releases may run at once."
	}
	notes := []string{
		fmt.Sprintf("The publish jobs publish with npm trusted publishing: the toolkit mints an OIDC "+
			"token with `circleci run oidc get`. They run in the context %q (%s), which the packages' "+
			"trusted publisher on the registry names along with the organization, project and "+
			"pipeline definition in %s. github-release runs in %q (GITHUB_TOKEN, or "+
			"GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY), and every job in %q (SLACK_BOT_TOKEN or "+
			"SLACK_WEBHOOK_URL) for the notices. %s",
			o.CircleCIContext, ctxIDs, p.source, c.GitHub, c.Slack, serial),
		fmt.Sprintf("Tool versions come from the repository: Go's image from %s, Bun %s from %s, npm %s "+
			"from %s.", orWord(p.tools.GoFrom, "the default"), orWord(o.BunVersion, "(none)"), orWord(p.tools.BunFrom, "the options"),
			o.NPMVersion, orWord(p.tools.NPMFrom, "the trusted-publishing minimum")),
	}
	if p.staged {
		notes = append(notes, p.stageNote())
	}
	header := p.header("CircleCI", notes...)

	run := func(name, command string, extra ...kv) *yaml.Node {
		return m(kv{key: "run", value: m(append([]kv{{key: "name", value: str(name)}, {key: "command", value: str(command)}}, extra...)...)})
	}
	// A reusable command is always invoked as a map, `- toolkit: {}` when
	// it takes no parameters: CircleCI reads both forms, and so does the
	// config parser the tests check the file with, which refuses the bare
	// name of a command that is not its own (checkout).
	call := func(command string, params ...kv) *yaml.Node {
		v := m(params...)
		if len(params) == 0 {
			v.Style = yaml.FlowStyle
		}
		return m(kv{key: command, value: v})
	}
	tool := ToolkitBinary
	// publish runs a publishing target; in stage mode it stages, and its
	// report is kept as an artifact for release:approve.
	publish := func(verb, what, command, report string) []*yaml.Node {
		if !p.staged {
			return []*yaml.Node{run(verb+" "+what, command)}
		}
		return []*yaml.Node{
			run(stageVerb(verb)+" "+what, command+p.modeArg(),
				kv{key: "environment", value: m(kv{key: "RELEASE_REPORT", value: str(ReportsDir + "/" + report + ".json")})}),
			m(kv{key: "store_artifacts", value: m(kv{key: "path", value: str(ReportsDir)}, kv{key: "destination", value: str(ReportsDir)})}),
		}
	}

	bunSteps := []*yaml.Node{}
	if p.bunBuild {
		cacheKey := "bun-v1-{{ checksum \"" + p.tools.BunLock + "\" }}"
		bunSteps = []*yaml.Node{
			m(kv{key: "restore_cache", value: m(kv{key: "keys", value: strs(cacheKey)})}),
			run("Install Bun "+o.BunVersion+" (pinned in "+orWord(p.tools.BunFrom, "the options")+")", "sudo npm install --global bun@"+o.BunVersion),
			run("Install dependencies", "bun install --frozen-lockfile"),
			m(kv{key: "save_cache", value: m(kv{key: "key", value: str(cacheKey)}, kv{key: "paths", value: strs("~/.bun/install/cache")})}),
		}
	}
	commands := m(
		kv{key: "setup", value: m(
			kv{key: "description", value: str("Check out the repository and export the release tag (and, on a CLI tag, its version).")},
			kv{key: "parameters", value: m(
				kv{key: "kind", value: m(kv{key: "type", value: str("enum")}, kv{key: "enum", value: strs("cli", "library", "any")}, kv{key: "default", value: str("cli")},
					kv{key: "description", value: str("The tags the job runs for: a CLI release's, a library release's, or either.")})},
			)},
			kv{key: "steps", value: seq(
				str("checkout"),
				run("Export the release tag", p.tagScript("<< parameters.kind >>", "CIRCLE_TAG", "BASH_ENV", `export %s=%s\n`)),
				run("Show tool versions", "node --version\nnpm --version\n"),
			)},
		)},
		kv{key: "npm", value: m(
			kv{key: "description", value: str("Install the npm that trusted publishing needs.")},
			kv{key: "steps", value: seq(run("Install npm "+o.NPMVersion+" (trusted publishing from CircleCI needs 11.11.0 or newer)", "sudo npm install --global npm@"+o.NPMVersion))},
		)},
		kv{key: "toolkit", value: m(
			kv{key: "description", value: str("Attach what earlier jobs kept, the compiled toolkit first, and check that it runs.")},
			kv{key: "steps", value: seq(
				m(kv{key: "attach_workspace", value: m(kv{key: "at", value: str(".")})}),
				run("Check the toolkit compiled by the build job", tool+" -l >/dev/null"),
			)},
		)},
		kv{key: "bun", value: m(
			kv{key: "description", value: str("Install the pinned Bun and the dependencies (Bun's package cache is kept between pipelines).")},
			kv{key: "steps", value: seqOr(bunSteps, run("No Bun build", "echo 'build.command does not run bun'"))},
		)},
		kv{key: "oidc-check", value: m(
			kv{key: "description", value: str("Trusted publishing mints its OIDC token with the circleci CLI.")},
			kv{key: "steps", value: seq(run("Check that the CircleCI CLI is available (it mints the OIDC token)",
				"if ! command -v circleci >/dev/null; then\n"+
					"  echo \"the circleci CLI is not on PATH: trusted publishing mints its OIDC token with 'circleci run oidc get'\" >&2\n"+
					"  exit 1\n"+
					"fi\n"))},
		)},
		kv{key: "notify-failure", value: m(
			kv{key: "description", value: str("When the job fails on a CLI tag, post the failure notice: what failed, this job's link, the next step.")},
			kv{key: "steps", value: seq(run("Post the failure notice to Slack", p.noticeScript("CIRCLE_TAG"), kv{key: "when", value: str("on_fail")}))},
		)},
	)

	jobDef := func(def string, params *yaml.Node, steps ...*yaml.Node) *yaml.Node {
		entries := []kv{}
		if params != nil {
			entries = append(entries, kv{key: "parameters", value: params})
		}
		entries = append(entries,
			kv{key: "executor", value: str(executorName)},
			kv{key: "resource_class", value: str(p.resourceClass(def))},
			kv{key: "steps", value: seq(steps...)})
		return m(entries...)
	}
	persist := func(t Transfer) *yaml.Node {
		return m(kv{key: "persist_to_workspace", value: m(kv{key: "root", value: str(".")}, kv{key: "paths", value: strs(t.Paths...)})})
	}
	def := func(def string) Job { return p.definition(WorkflowName, def) }
	withBun := func(steps ...*yaml.Node) []*yaml.Node {
		return append([]*yaml.Node{call("bun")}, steps...)
	}
	cat := func(groups ...[]*yaml.Node) []*yaml.Node {
		var out []*yaml.Node
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	}

	jobs := m(
		kv{key: BuildJob, comment: "Compiles the toolkit once; every later job runs the binary.", value: jobDef(BuildJob, nil,
			call("setup", kv{key: "kind", value: str("any")}),
			m(kv{key: "restore_cache", value: m(kv{key: "keys", value: strs(`go-mod-v1-{{ checksum "go.sum" }}`)})}),
			run("Compile the toolkit into "+tool, "go version\nCGO_ENABLED=0 go tool mage -compile "+tool+"\n"+tool+" -l\n"),
			m(kv{key: "save_cache", value: m(kv{key: "key", value: str(`go-mod-v1-{{ checksum "go.sum" }}`)}, kv{key: "paths", value: strs("~/go/pkg/mod")})}),
			persist(def(BuildJob).Persists[0]),
			call("notify-failure"),
		)},
		kv{key: PlatformJob, comment: "Builds one target and publishes its platform package; the workflow runs it once per target.", value: jobDef(PlatformJob,
			m(kv{key: "target", value: m(
				kv{key: "type", value: str("enum")},
				kv{key: "enum", value: strs(p.targets...)},
				kv{key: "description", value: str("The platform target this job builds and publishes.")},
			)}),
			cat([]*yaml.Node{call("setup"), call("npm"), call("toolkit")}, withBun(
				run("Build << parameters.target >>", tool+" build -target=<< parameters.target >>"),
				call("oidc-check"),
			), publish("Publish", cfg.PlatformPackage("<< parameters.target >>"), tool+" publishPlatform << parameters.target >>", PlatformJob+"-<< parameters.target >>"), []*yaml.Node{
				persist(def(PlatformJob).Persists[0]),
				call("notify-failure"),
			})...,
		)},
		kv{key: AssetsJob, comment: "Builds the archives' targets and makes the standalone archives; npm publishing never waits for it.", value: jobDef(AssetsJob, nil,
			cat([]*yaml.Node{call("setup"), call("toolkit")}, withBun(
				run("Build "+strings.Join(p.sources, ", "), tool+" build -target="+strings.Join(p.sources, ",")),
				run("Make the archives and "+cfg.Assets.Checksums, tool+" releaseAssets"),
				persist(def(AssetsJob).Persists[0]),
				call("notify-failure"),
			))...,
		)},
		kv{key: CLIJob, comment: "Publishes the CLI package once every platform package is on the registry with this build's bytes.", value: jobDef(CLIJob, nil,
			cat([]*yaml.Node{call("setup"), call("npm"), call("toolkit"), call("oidc-check")},
				publish("Publish", cfg.CLI.Package, tool+" publishCLI", CLIJob), []*yaml.Node{call("notify-failure")})...,
		)},
		kv{key: AdaptersJob, comment: "Builds and publishes the library packages the CLI needs that are not on the registry yet; the CLI package waits for it.", value: jobDef(AdaptersJob, nil,
			cat([]*yaml.Node{call("setup"), call("npm"), call("toolkit")}, withBun(call("oidc-check")),
				publish("Build and publish", "the library packages", tool+" publishAdapters", AdaptersJob), []*yaml.Node{call("notify-failure")})...,
		)},
		kv{key: GitHubJob, comment: "Creates or updates the GitHub Release of the tag with the archives.", value: jobDef(GitHubJob, nil,
			call("setup"), call("toolkit"),
			run("Create the GitHub Release", tool+" githubRelease"), call("notify-failure"),
		)},
		kv{key: StatusJob, comment: "Prints what the registry now holds for this version.", value: jobDef(StatusJob, nil,
			call("setup"), call("toolkit"),
			run("Show the release's status", tool+` status "$RELEASE_VERSION"`+p.modeArg()), call("notify-failure"),
		)},
		kv{key: NotifyJob, comment: "Posts the success notice.", value: jobDef(NotifyJob, nil,
			call("setup"), call("npm"), call("toolkit"),
			run("Post the release notice to Slack", tool+" notify success"),
		)},
		kv{key: LibraryJob, comment: "Library tags: builds and publishes the tag's library package (publishAdapters reads the tag).", value: jobDef(LibraryJob, nil,
			cat([]*yaml.Node{call("setup", kv{key: "kind", value: str("library")}), call("npm"), call("toolkit")}, withBun(call("oidc-check")),
				publish("Build and publish", cfg.Scope+"/<name>", tool+" publishAdapters", LibraryJob))...,
		)},
	)

	filters := func(re string) *yaml.Node {
		return m(
			kv{key: "branches", value: m(kv{key: "ignore", value: str(circleAnyPath)})},
			kv{key: "tags", value: m(kv{key: "only", value: str("/" + re + "/")})},
		)
	}
	entry := func(j Job, re string, extra ...kv) *yaml.Node {
		entries := extra
		if len(j.Contexts) > 0 {
			entries = append(entries, kv{key: "context", value: strs(j.Contexts...)})
		}
		if j.SerialGroup != "" {
			entries = append(entries, kv{key: "serial-group", value: str(j.SerialGroup)})
		}
		if len(j.Requires) > 0 {
			entries = append(entries, kv{key: "requires", value: strs(j.Requires...)})
		}
		entries = append(entries, kv{key: "filters", value: filters(re)})
		return m(kv{key: j.Definition, value: m(entries...)})
	}
	var release, library []*yaml.Node
	cliTags, libTags := TagRegexp(cfg), LibraryTagRegexp(cfg)
	for _, j := range p.jobs {
		switch {
		case j.Workflow == LibraryWorkflow:
			library = append(library, entry(j, libTags))
		case j.Definition == PlatformJob:
			if j.Target != p.targets[0] {
				continue // one matrix entry
			}
			release = append(release, entry(j, cliTags,
				kv{key: "name", value: str(PlatformJob + "-<< matrix.target >>")},
				kv{key: "matrix", value: m(kv{key: "parameters", value: m(kv{key: "target", value: strs(p.targets...)})})},
			))
		default:
			release = append(release, entry(j, cliTags))
		}
	}

	root := m(
		kv{key: "version", value: num("2.1")},
		kv{key: "executors", value: m(kv{key: executorName, value: m(
			kv{key: "docker", value: seq(m(kv{key: "image", value: str(o.GoImage)}))},
		)})},
		kv{key: "commands", value: commands},
		kv{key: "jobs", value: jobs},
		kv{key: "workflows", value: m(
			kv{key: WorkflowName, value: m(kv{key: "jobs", value: seq(release...)})},
			kv{key: LibraryWorkflow, value: m(kv{key: "jobs", value: seq(library...)}),
				comment: wrap("Library tags ("+cfg.Scope+"/<name>@X.Y.Z): publishAdapters releases the tag's package alone, after checking that its package.json has the tag's version.", 76)},
		)},
	)
	return encode(header, root)
}

func seqOr(steps []*yaml.Node, fallback *yaml.Node) *yaml.Node {
	if len(steps) == 0 {
		return seq(fallback)
	}
	return seq(steps...)
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// libraryScript checks a library release's tag and exports RELEASE_TAG.
func (p *plan) libraryScript(tagVar, sinkVar, emit string) string {
	scope := p.cfg.Scope + "/"
	return fmt.Sprintf(`tag="${%[1]s:?this workflow runs only for tags %[2]s<name>@X.Y.Z}"
pattern='^%[2]s[a-z0-9][a-z0-9._-]*@[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
if ! [[ "$tag" =~ $pattern ]]; then
  echo "tag $tag is not %[2]s<name>@ followed by a semver version: push a tag such as %[2]sadapter@1.2.3" >&2
  exit 1
fi
printf '%[3]s' RELEASE_TAG "$tag" >> "$%[4]s"
echo "Releasing $tag"
`, tagVar, scope, emit, sinkVar)
}

// tagScript exports RELEASE_TAG (and RELEASE_VERSION) for the tags of kind:
// "cli", "library", or "any" (the build job, which both workflows run).
func (p *plan) tagScript(kind, tagVar, sinkVar, emit string) string {
	return fmt.Sprintf("case \"%s:${%s:-}\" in\n  cli:* | any:%s*)\n%s    ;;\n  *)\n%s    ;;\nesac\n",
		kind, tagVar, p.prefix, indent(p.versionScript(tagVar, sinkVar, emit), "    "), indent(p.libraryScript(tagVar, sinkVar, emit), "    "))
}

// noticeScript posts the failure notice on a CLI tag, with the compiled
// toolkit when the job has it and `go tool mage` when it does not (a build
// job that failed before compiling it).
func (p *plan) noticeScript(tagVar string) string {
	return fmt.Sprintf(`case "${%[1]s:-}" in
  %[2]s*) ;;
  *) echo "not a CLI release tag: no failure notice"; exit 0 ;;
esac
if [ -x %[3]s ]; then
  %[3]s notify failure
else
  go tool mage notify failure
fi
`, tagVar, p.prefix, ToolkitBinary)
}
