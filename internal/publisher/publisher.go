// Package publisher is the trusted-publisher identity: which CI workflow npm
// trusts to publish a package with OIDC. One Identity is configured in
// release.json; trust attaches and compares it, the npm calls pass it to
// `npm trust`, and the OIDC checks hold a token's claims against it.
package publisher

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Provider is a CI system npm accepts trusted publishing from.
type Provider string

// The providers npm supports.
const (
	CircleCI Provider = "circleci"
	GitHub   Provider = "github"
	GitLab   Provider = "gitlab"
)

// Name is the provider's name for people ("GitHub Actions").
func (p Provider) Name() string {
	switch p {
	case CircleCI:
		return "CircleCI"
	case GitHub:
		return "GitHub Actions"
	case GitLab:
		return "GitLab"
	}
	return string(p)
}

// Identity is one trusted publisher. The fields that apply depend on
// Provider.
type Identity struct {
	// Provider is the CI system.
	Provider Provider `json:"provider"`
	// CircleCI: the organization, project and pipeline definition (UUIDs
	// from the CircleCI settings), the contexts the publishing job runs in,
	// and the repository without a scheme ("github.com/owner/repo").
	OrgID                string   `json:"orgId,omitempty"`
	ProjectID            string   `json:"projectId,omitempty"`
	PipelineDefinitionID string   `json:"pipelineDefinitionId,omitempty"`
	ContextIDs           []string `json:"contextIds,omitempty"`
	VCSOrigin            string   `json:"vcsOrigin,omitempty"`
	// GitHub Actions: the repository ("owner/repo"), the workflow's file
	// name under .github/workflows, and the deployment environment the job
	// runs in (optional).
	Repository  string `json:"repository,omitempty"`
	Workflow    string `json:"workflow,omitempty"`
	Environment string `json:"environment,omitempty"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidUUID reports whether s is a UUID in its canonical textual form.
func ValidUUID(s string) bool { return uuidRE.MatchString(s) }

// FieldError is a mistake in one field of an Identity.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate returns the first mistake in id, naming the JSON field.
func (id Identity) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch id.Provider {
	case CircleCI:
		for _, f := range []struct{ field, v string }{
			{"orgId", id.OrgID}, {"projectId", id.ProjectID}, {"pipelineDefinitionId", id.PipelineDefinitionID},
		} {
			if !ValidUUID(f.v) {
				return bad(f.field, "%q is not a UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, from the CircleCI settings)", f.v)
			}
		}
		for i, c := range id.ContextIDs {
			if !ValidUUID(c) {
				return bad(fmt.Sprintf("contextIds[%d]", i), "%q is not a UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, from the CircleCI context settings)", c)
			}
		}
		if strings.Contains(id.VCSOrigin, "://") || len(strings.Split(id.VCSOrigin, "/")) < 3 {
			return bad("vcsOrigin", "%q must be host/owner/repo without a scheme, e.g. \"github.com/agent-facets/facets\"", id.VCSOrigin)
		}
	case GitHub:
		if parts := strings.Split(id.Repository, "/"); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return bad("repository", "%q must be owner/repo, e.g. \"agent-facets/facets\"", id.Repository)
		}
		if id.Workflow == "" || strings.Contains(id.Workflow, "/") || !(strings.HasSuffix(id.Workflow, ".yml") || strings.HasSuffix(id.Workflow, ".yaml")) {
			return bad("workflow", "%q must be the workflow's file name under .github/workflows, e.g. \"release.yml\"", id.Workflow)
		}
	default:
		return bad("provider", "%q is not supported: use %q or %q", id.Provider, CircleCI, GitHub)
	}
	return nil
}

// Args returns the `npm trust` arguments that attach id to pkg, allowing
// what perms name ("--allow-publish", "--allow-stage-publish").
func (id Identity) Args(pkg string, perms ...string) []string {
	var args []string
	switch id.Provider {
	case GitHub:
		args = []string{"trust", "github", pkg, "--repo", id.Repository, "--file", id.Workflow}
		if id.Environment != "" {
			args = append(args, "--env", id.Environment)
		}
	default:
		args = []string{"trust", "circleci", pkg,
			"--org-id", id.OrgID,
			"--project-id", id.ProjectID,
			"--pipeline-definition-id", id.PipelineDefinitionID,
			"--vcs-origin", id.VCSOrigin}
		for _, c := range id.ContextIDs {
			args = append(args, "--context-id", c)
		}
	}
	if len(perms) == 0 {
		perms = []string{"--allow-publish"}
	}
	return append(append(args, perms...), "--yes")
}

// Diff lists, field by field, how have differs from id; empty means the
// same identity. The names are npm trust's flags.
func (id Identity) Diff(have Identity) []string {
	if have.Provider != id.Provider {
		return []string{fmt.Sprintf("provider is %q, want %q", have.Provider, id.Provider)}
	}
	var d []string
	field := func(name, got, want string) {
		if got != want {
			d = append(d, fmt.Sprintf("%s is %q, want %q", name, got, want))
		}
	}
	switch id.Provider {
	case GitHub:
		field("repo", have.Repository, id.Repository)
		field("file", have.Workflow, id.Workflow)
		field("env", have.Environment, id.Environment)
	default:
		field("org-id", have.OrgID, id.OrgID)
		field("project-id", have.ProjectID, id.ProjectID)
		field("pipeline-definition-id", have.PipelineDefinitionID, id.PipelineDefinitionID)
		field("vcs-origin", have.VCSOrigin, id.VCSOrigin)
		a, b := slices.Clone(have.ContextIDs), slices.Clone(id.ContextIDs)
		sort.Strings(a)
		sort.Strings(b)
		if !slices.Equal(a, b) {
			d = append(d, fmt.Sprintf("context-ids are %v, want %v", a, b))
		}
	}
	return d
}

// Fields are the values a maintainer enters on a package's access page,
// in the order the page asks for them.
func (id Identity) Fields() [][2]string {
	if id.Provider == GitHub {
		env := id.Environment
		if env == "" {
			env = "(none)"
		}
		return [][2]string{{"Repository", id.Repository}, {"Workflow filename", id.Workflow}, {"Environment name", env}}
	}
	return [][2]string{
		{"Organization ID", id.OrgID},
		{"Project ID", id.ProjectID},
		{"Pipeline Definition ID", id.PipelineDefinitionID},
		{"Context IDs", strings.Join(id.ContextIDs, ", ")},
		{"VCS Origin", id.VCSOrigin},
	}
}

// String names the identity for a progress line.
func (id Identity) String() string {
	if id.Provider == GitHub {
		return "GitHub Actions workflow " + id.Repository + "/.github/workflows/" + id.Workflow
	}
	return "CircleCI project " + id.ProjectID
}
