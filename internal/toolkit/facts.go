package toolkit

import (
	"strings"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/secret"
)

// The environment variables the toolkit reads (when a target starts, in
// ReadFacts, and nowhere else).
const (
	EnvConfig      = "RELEASE_CONFIG"      // the release configuration (default release.json)
	EnvReport      = "RELEASE_REPORT"      // where the JSON report goes
	EnvStepSummary = "GITHUB_STEP_SUMMARY" // GitHub Actions' summary page
	EnvOTP         = "NPM_OTP"             // a 2FA code for maintainer writes
	EnvIDToken     = "NPM_ID_TOKEN"        // an OIDC ID token minted by the CI

	EnvGitHubToken          = "GITHUB_TOKEN"               // a GitHub token (GH_TOKEN is read too)
	EnvGitHubAppID          = "GITHUB_APP_ID"              // a GitHub App's client ID or app ID
	EnvGitHubInstallationID = "GITHUB_APP_INSTALLATION_ID" // the App's installation on the repository
	EnvGitHubAppKey         = "GITHUB_APP_PRIVATE_KEY"     // the App's private key (PEM, or PEM in base64)
	EnvGitHubAPI            = "GITHUB_API_URL"             // the GitHub REST API's base URL
	EnvSlackToken           = "SLACK_BOT_TOKEN"            // a Slack bot token (xoxb-...)
	EnvSlackWebhook         = "SLACK_WEBHOOK_URL"          // a Slack incoming webhook's URL
)

// Facts is what the environment says about this run, read once when a
// target starts: the CI it runs on, the release tag, the credentials
// present, whether a person is at the terminal, and where reports go.
// Nothing else in the toolkit reads the process environment; tests build
// Facts by hand.
type Facts struct {
	// Environ is the environment every program the toolkit runs gets.
	Environ []string
	// CI is the CI system this runs on ("" on a maintainer's machine), as
	// npm's ci-info detects it (CI=false turns detection off).
	CI publisher.Provider
	// OnCI is set on any CI (CI=true included), known or not.
	OnCI bool
	// Tag is the git tag that started this run and TagVar the variable it
	// came from (CIRCLE_TAG, or GITHUB_REF_NAME on a GitHub tag push).
	Tag, TagVar string
	// IDToken is an OIDC ID token the CI minted (NPM_ID_TOKEN).
	IDToken string
	// GitHubTokenURL and GitHubTokenRequest are what a GitHub Actions job
	// allowed to mint ID tokens has (ACTIONS_ID_TOKEN_REQUEST_URL, _TOKEN).
	GitHubTokenURL, GitHubTokenRequest string
	// OTP is a one-time password for writes of accounts with 2FA (NPM_OTP).
	OTP string
	// Interactive is set when a person can answer prompts: standard input
	// is a terminal and this is not CI.
	Interactive bool
	// ConfigPath is the release configuration's path as RELEASE_CONFIG
	// gives it ("" when unset; see ConfigFile).
	ConfigPath string
	// ReportPath is where the JSON report goes ("" for none).
	ReportPath string
	// StepSummary is GitHub Actions' summary file ("" for none).
	StepSummary string
	// NoColor is set when output must not be coloured (NO_COLOR, TERM=dumb).
	NoColor bool
	// Proxy is what the environment says about proxies (HTTPS_PROXY,
	// HTTP_PROXY, PROXY, NO_PROXY, in any letter case), which npm follows
	// when its own configuration names no proxy, and so does the toolkit.
	Proxy registry.EnvProxy

	// GitHubToken is a GitHub token (GITHUB_TOKEN, else GH_TOKEN).
	GitHubToken string
	// GitHubAppID, GitHubInstallationID and GitHubAppKey authenticate as a
	// GitHub App (GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID,
	// GITHUB_APP_PRIVATE_KEY); the ids override release.json's.
	GitHubAppID, GitHubInstallationID, GitHubAppKey string
	// GitHubAPIURL is the GitHub REST API's base URL (GITHUB_API_URL, which
	// GitHub Actions sets), used unless release.json's github.apiURL is set.
	GitHubAPIURL string
	// SlackToken is a Slack bot token (SLACK_BOT_TOKEN) and SlackWebhook an
	// incoming webhook's URL (SLACK_WEBHOOK_URL), for release notices.
	SlackToken, SlackWebhook string
	// CIJob names the CI job this runs in (CIRCLE_JOB, GITHUB_JOB) and
	// CIJobURL is its page (CIRCLE_BUILD_URL; on GitHub Actions the run's).
	CIJob, CIJobURL string
}

// ReadFacts reads Facts from an environment (os.Environ()) and whether
// standard input is a terminal. Secrets it finds are registered for
// redaction at once.
func ReadFacts(environ []string, stdinTerminal bool) Facts {
	get := func(k string) string { return command.Getenv(environ, k) }
	_, noColor := command.Lookup(environ, "NO_COLOR")
	f := Facts{
		Environ:            environ,
		IDToken:            get(EnvIDToken),
		GitHubTokenURL:     get("ACTIONS_ID_TOKEN_REQUEST_URL"),
		GitHubTokenRequest: get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
		OTP:                get(EnvOTP),
		ConfigPath:         get(EnvConfig),
		ReportPath:         get(EnvReport),
		StepSummary:        get(EnvStepSummary),
		NoColor:            noColor || get("TERM") == "dumb",
	}
	if get("CI") != "false" {
		switch {
		case get("GITHUB_ACTIONS") != "":
			f.CI = publisher.GitHub
		case get("GITLAB_CI") != "":
			f.CI = publisher.GitLab
		case get("CIRCLECI") != "":
			f.CI = publisher.CircleCI
		}
	}
	// As npm's agent reads them: names in any case, the last one wins.
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "https_proxy":
			f.Proxy.HTTPS = v
		case "http_proxy":
			f.Proxy.HTTP = v
		case "proxy":
			f.Proxy.Any = v
		case "no_proxy":
			f.Proxy.No = v
		}
	}
	f.OnCI = f.CI != "" || get("CI") == "true"
	f.Interactive = stdinTerminal && !f.OnCI
	if tag := get("CIRCLE_TAG"); tag != "" {
		f.Tag, f.TagVar = tag, "CIRCLE_TAG"
	} else if get("GITHUB_REF_TYPE") == "tag" {
		f.Tag, f.TagVar = get("GITHUB_REF_NAME"), "GITHUB_REF_NAME"
	}
	f.GitHubToken = get(EnvGitHubToken)
	if f.GitHubToken == "" {
		f.GitHubToken = get("GH_TOKEN")
	}
	f.GitHubAppID, f.GitHubInstallationID, f.GitHubAppKey = get(EnvGitHubAppID), get(EnvGitHubInstallationID), get(EnvGitHubAppKey)
	f.GitHubAPIURL = get(EnvGitHubAPI)
	f.SlackToken, f.SlackWebhook = get(EnvSlackToken), get(EnvSlackWebhook)
	switch f.CI {
	case publisher.CircleCI:
		f.CIJob, f.CIJobURL = get("CIRCLE_JOB"), get("CIRCLE_BUILD_URL")
	case publisher.GitHub:
		f.CIJob = get("GITHUB_JOB")
		if server, repo, run := get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID"); server != "" && repo != "" && run != "" {
			f.CIJobURL = strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + run
		}
	}
	for _, s := range []string{f.IDToken, f.GitHubTokenRequest, f.OTP, f.GitHubToken, get("GH_TOKEN"), f.GitHubAppKey, f.SlackToken, f.SlackWebhook} {
		secret.Register(s)
	}
	return f
}

// ConfigFile is the release configuration to load: RELEASE_CONFIG, else
// release.json in the current directory.
func (f Facts) ConfigFile() string {
	if f.ConfigPath != "" {
		return f.ConfigPath
	}
	return config.DefaultFile
}
