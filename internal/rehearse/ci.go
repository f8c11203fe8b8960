package rehearse

import (
	"os"
	"time"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/publisher"
)

// ciJob returns the environment entries of a CI job of cfg's trusted
// publisher, for the release tag (none when empty), whose ID tokens reg
// trusts for ttl: on CircleCI a stand-in circleci written to bin and put
// first on path; on GitHub Actions the token service npm and the toolkit
// ask, for the configured repository, workflow and environment, on the
// tag's ref.
func ciJob(reg *localregistry.Registry, cfg *config.Config, bin, path, tag string, ttl time.Duration) ([]string, error) {
	tp := cfg.TrustedPublisher
	if tp.Provider == publisher.GitHub {
		ref := "refs/heads/main"
		if tag != "" {
			ref = "refs/tags/" + tag
		}
		env := append(reg.GitHubActionsEnv(localregistry.GitHubClaims(tp.Repository, tp.Workflow, ref, tp.Environment, ttl)), "CI=true")
		if tag != "" {
			env = append(env, "GITHUB_REF_TYPE=tag", "GITHUB_REF_NAME="+tag)
		}
		return env, nil
	}
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return nil, err
	}
	if err := reg.WriteFakeCircleCI(bin, localregistry.CircleCIClaims(tp.OrgID, tp.ProjectID, tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs, ttl)); err != nil {
		return nil, err
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + path, "CIRCLECI=true", "CI=true"}
	if tag != "" {
		env = append(env, "CIRCLE_TAG="+tag)
	}
	return env, nil
}
