package ciconfig

import (
	"slices"
	"strings"

	"github.com/agent-facets/release/internal/config"
)

// Job names. The matrix jobs are named PlatformJob + "-" + target.
const (
	BuildJob     = "build"
	PlatformJob  = "publish-platform"
	AssetsJob    = "package-assets"
	CLIJob       = "publish-cli"
	AdaptersJob  = "publish-adapters"
	GitHubJob    = "github-release"
	StatusJob    = "release-status"
	NotifyJob    = "notify"
	LibraryJob   = "publish-libraries"
	NoticeJob    = "notify-failure" // GitHub Actions only: CircleCI posts from each job's last step
	WorkflowName = "release"
	// LibraryWorkflow runs on library tags (<scope>/<name>@X.Y.Z).
	LibraryWorkflow = "library"
)

// jobNames are the job definitions, in pipeline order.
var jobNames = []string{BuildJob, PlatformJob, AssetsJob, CLIJob, AdaptersJob, GitHubJob, StatusJob, NotifyJob, LibraryJob}

func knownJob(name string) bool { return slices.Contains(jobNames, name) }

// ToolkitBinary is where the build job compiles the toolkit (`go tool mage
// -compile`): the program every later job runs instead of compiling it again.
const ToolkitBinary = ".release/bin/release"

// What jobs hand on to later jobs.
const (
	// KindToolkit is the compiled toolkit binary (about 16 MB).
	KindToolkit = "toolkit"
	// KindRecords are the platform packages' integrity records, a few
	// hundred bytes each (pack.Record, beside each tarball).
	KindRecords = "records"
	// KindArchives are the standalone archives and the checksums file.
	KindArchives = "archives"
)

// Transfer is what a job persists for later jobs, or receives from earlier
// ones.
type Transfer struct {
	// Kind is KindToolkit, KindRecords or KindArchives.
	Kind string
	// Paths are the workspace paths (CircleCI globs), relative to the
	// repository root.
	Paths []string
	// From is the job that persisted it (for what a job receives).
	From string
}

// Job describes one job of the generated CircleCI pipeline, as the
// benchmark's pipeline-cost table and people read it: a matrix job appears
// once per target.
type Job struct {
	// Name is the job's name in its workflow ("publish-platform-linux-x64");
	// Definition the job it runs ("publish-platform").
	Name, Definition string
	// Workflow is WorkflowName or LibraryWorkflow.
	Workflow string
	// Target is a matrix job's target.
	Target string
	// Requires are the jobs it waits for.
	Requires []string
	// CompilesToolkit is set when the job compiles the toolkit rather than
	// running ToolkitBinary.
	CompilesToolkit bool
	// Builds are the targets whose binaries the job builds.
	Builds []string
	// BuildsLibraries is set when the job builds library packages (their
	// build scripts, with the workspace's dependencies installed).
	BuildsLibraries bool
	// Persists is what the job hands on; Attaches what it receives: every
	// layer its upstream jobs persisted, as CircleCI attaches a workspace.
	Persists, Attaches []Transfer
	// Contexts, ResourceClass and SerialGroup are the job's CircleCI
	// settings ("" for no serial group).
	Contexts      []string
	ResourceClass string
	SerialGroup   string
	// Publishes says what the job writes: "npm", "github", "slack" or "".
	Publishes string
}

// Jobs returns the jobs of the CircleCI pipeline generated for cfg, in
// workflow order.
func Jobs(cfg *config.Config, opts ...Option) ([]Job, error) {
	p, err := newPlan(cfg, opts)
	if err != nil {
		return nil, err
	}
	return slices.Clone(p.jobs), nil
}

// Default resource classes: medium where a job compiles (Go, or Bun
// bundling the CLI: a monorepo's build was OOM-killed on small), small
// where it only runs the toolkit.
var defaultResourceClass = map[string]string{
	BuildJob: "medium", PlatformJob: "medium", AssetsJob: "medium",
}

func (p *plan) resourceClass(def string) string {
	if rc := p.cfg.CI.ResourceClasses[def]; rc != "" {
		return rc
	}
	if rc := defaultResourceClass[def]; rc != "" {
		return rc
	}
	return "small"
}

// serialGroup is the CircleCI serial group of a kind of write ("npm",
// "github"), "" when they are turned off.
func (p *plan) serialGroup(kind string) string {
	g := p.cfg.CI.SerialGroup
	if g == "none" {
		return ""
	}
	return strings.TrimSuffix(g, "/") + "/" + kind
}

// graph is the pipeline's jobs; both generators render it and Jobs returns it.
func graph(p *plan) []Job {
	c := p.cfg.CI.Contexts
	publish, slack, gh := p.opts.CircleCIContext, c.Slack, c.GitHub
	toolkit := Transfer{Kind: KindToolkit, Paths: []string{ToolkitBinary}}
	records := Transfer{Kind: KindRecords, Paths: []string{p.dist + "/npm/*.json"}}
	archives := Transfer{Kind: KindArchives, Paths: []string{p.assets}}
	job := func(def string, requires []string, contexts ...string) Job {
		return Job{Name: def, Definition: def, Workflow: WorkflowName, Requires: requires, Contexts: contexts, ResourceClass: p.resourceClass(def)}
	}

	var jobs []Job
	b := job(BuildJob, nil, slack)
	b.CompilesToolkit, b.Persists = true, []Transfer{toolkit}
	jobs = append(jobs, b)
	var platformNames []string
	for _, t := range p.targets {
		j := job(PlatformJob, []string{BuildJob}, publish, slack)
		j.Name, j.Target, j.Builds, j.Persists, j.Publishes = PlatformJob+"-"+t, t, []string{t}, []Transfer{records}, "npm"
		jobs = append(jobs, j)
		platformNames = append(platformNames, j.Name)
	}
	a := job(AssetsJob, []string{BuildJob}, slack)
	a.Builds, a.Persists = slices.Clone(p.sources), []Transfer{archives}
	jobs = append(jobs, a)
	// The libraries the CLI needs go out before the CLI package, which
	// publishCLI checks; they need nothing of the platform jobs.
	ad := job(AdaptersJob, []string{BuildJob}, publish, slack)
	ad.SerialGroup, ad.Publishes, ad.BuildsLibraries = p.serialGroup("npm"), "npm", true
	cli := job(CLIJob, append(slices.Clone(platformNames), AdaptersJob), publish, slack)
	cli.SerialGroup, cli.Publishes = p.serialGroup("npm"), "npm"
	rel := job(GitHubJob, []string{AssetsJob, CLIJob}, gh, slack)
	rel.SerialGroup, rel.Publishes = p.serialGroup("github"), "github"
	st := job(StatusJob, []string{CLIJob}, slack)
	n := job(NotifyJob, []string{GitHubJob, StatusJob}, slack)
	n.Publishes = "slack"
	jobs = append(jobs, ad, cli, rel, st, n)

	lb := job(BuildJob, nil, slack)
	lb.Workflow, lb.CompilesToolkit, lb.Persists = LibraryWorkflow, true, []Transfer{toolkit}
	lib := job(LibraryJob, []string{BuildJob}, publish, slack)
	lib.Workflow, lib.SerialGroup, lib.Publishes, lib.BuildsLibraries = LibraryWorkflow, p.serialGroup("npm"), "npm", true
	jobs = append(jobs, lb, lib)

	// What each job receives: every layer persisted upstream of it.
	byName := func(wf, name string) *Job {
		for i := range jobs {
			if jobs[i].Workflow == wf && jobs[i].Name == name {
				return &jobs[i]
			}
		}
		return nil
	}
	for i := range jobs {
		if jobs[i].CompilesToolkit {
			continue
		}
		seen := map[string]bool{}
		var up []string
		var walk func(name string)
		walk = func(name string) {
			j := byName(jobs[i].Workflow, name)
			if j == nil || seen[name] {
				return
			}
			seen[name] = true
			for _, r := range j.Requires {
				walk(r)
			}
			up = append(up, name)
		}
		for _, r := range jobs[i].Requires {
			walk(r)
		}
		for _, name := range up {
			for _, t := range byName(jobs[i].Workflow, name).Persists {
				t.From = name
				jobs[i].Attaches = append(jobs[i].Attaches, t)
			}
		}
	}
	return jobs
}

// definition returns the first job of the graph running def in workflow wf.
func (p *plan) definition(wf, def string) Job {
	for _, j := range p.jobs {
		if j.Workflow == wf && j.Definition == def {
			return j
		}
	}
	return Job{}
}
