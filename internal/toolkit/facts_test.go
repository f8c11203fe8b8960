package toolkit

import (
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/secret"
)

func TestReadFacts(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		terminal bool
		check    func(t *testing.T, f Facts)
	}{
		{"a maintainer at a terminal", []string{"PATH=/bin"}, true, func(t *testing.T, f Facts) {
			if f.CI != "" || f.OnCI || !f.Interactive || f.Tag != "" || f.ConfigFile() != "release.json" || f.NoColor {
				t.Errorf("%+v", f)
			}
		}},
		{"stdin not a terminal", nil, false, func(t *testing.T, f Facts) {
			if f.Interactive {
				t.Error("interactive without a terminal")
			}
		}},
		{"CircleCI tag build", []string{"CIRCLECI=true", "CI=true", "CIRCLE_TAG=agent-facets@1.2.3"}, true, func(t *testing.T, f Facts) {
			if f.CI != publisher.CircleCI || !f.OnCI || f.Interactive || f.Tag != "agent-facets@1.2.3" || f.TagVar != "CIRCLE_TAG" {
				t.Errorf("%+v", f)
			}
		}},
		{"GitHub Actions tag push", []string{"GITHUB_ACTIONS=true", "CI=true", "GITHUB_REF_TYPE=tag", "GITHUB_REF_NAME=agent-facets@2.0.0"}, false, func(t *testing.T, f Facts) {
			if f.CI != publisher.GitHub || f.Tag != "agent-facets@2.0.0" || f.TagVar != "GITHUB_REF_NAME" {
				t.Errorf("%+v", f)
			}
		}},
		{"GitHub branch push has no tag", []string{"GITHUB_ACTIONS=true", "GITHUB_REF_TYPE=branch", "GITHUB_REF_NAME=main"}, false, func(t *testing.T, f Facts) {
			if f.Tag != "" {
				t.Errorf("tag %q from a branch", f.Tag)
			}
		}},
		{"CI=false turns detection off, as in npm", []string{"CIRCLECI=true", "CI=false"}, true, func(t *testing.T, f Facts) {
			if f.CI != "" || f.OnCI || !f.Interactive {
				t.Errorf("%+v", f)
			}
		}},
		{"unknown CI is still CI", []string{"CI=true"}, true, func(t *testing.T, f Facts) {
			if f.CI != "" || !f.OnCI || f.Interactive {
				t.Errorf("%+v", f)
			}
		}},
		{"reports, config, colour", []string{"RELEASE_CONFIG=x/release.json", "RELEASE_REPORT=r.json", "GITHUB_STEP_SUMMARY=s.md", "NO_COLOR="}, false, func(t *testing.T, f Facts) {
			if f.ConfigFile() != "x/release.json" || f.ReportPath != "r.json" || f.StepSummary != "s.md" || !f.NoColor {
				t.Errorf("%+v", f)
			}
		}},
		{"TERM=dumb", []string{"TERM=dumb"}, false, func(t *testing.T, f Facts) {
			if !f.NoColor {
				t.Error("colour on a dumb terminal")
			}
		}},
		{"the last assignment wins, as for a child process", []string{"CIRCLE_TAG=agent-facets@1.0.0", "CIRCLE_TAG=agent-facets@1.0.1"}, false, func(t *testing.T, f Facts) {
			if f.Tag != "agent-facets@1.0.1" {
				t.Errorf("tag %q", f.Tag)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ReadFacts(tt.env, tt.terminal)
			if len(f.Environ) != len(tt.env) {
				t.Errorf("Environ = %v, want the environment as given", f.Environ)
			}
			tt.check(t, f)
		})
	}
}

func TestReadFactsRegistersSecrets(t *testing.T) {
	const tok, otp = "eyJsecret-id-token-from-the-ci", "otp-987654"
	f := ReadFacts([]string{"NPM_ID_TOKEN=" + tok, "NPM_OTP=" + otp, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=gha-request-token-1234"}, false)
	if f.IDToken != tok || f.OTP != otp || f.GitHubTokenRequest != "gha-request-token-1234" {
		t.Fatalf("%+v", f)
	}
	for _, s := range []string{tok, otp, "gha-request-token-1234"} {
		if got := secret.Redact("value: " + s); got != "value: "+secret.Mask {
			t.Errorf("%q is not redacted: %q", s, got)
		}
	}
}

func TestReadFactsReleaseCredentials(t *testing.T) {
	const (
		gh      = "gh-token-for-releases-0001"
		key     = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabcdefgh\n-----END RSA PRIVATE KEY-----\n"
		slack   = "slack-bot-token-for-notices"
		webhook = "http://127.0.0.1:1/services/T000/B000/hook-secret-part"
	)
	f := ReadFacts([]string{"GH_TOKEN=" + gh, "GITHUB_APP_ID=Iv23abc", "GITHUB_APP_INSTALLATION_ID=42", "GITHUB_APP_PRIVATE_KEY=" + key,
		"SLACK_BOT_TOKEN=" + slack, "SLACK_WEBHOOK_URL=" + webhook, "GITHUB_API_URL=http://127.0.0.1:2/api/v3/"}, false)
	if f.GitHubToken != gh || f.GitHubAppID != "Iv23abc" || f.GitHubInstallationID != "42" || f.GitHubAppKey != key ||
		f.SlackToken != slack || f.SlackWebhook != webhook || f.GitHubAPIURL != "http://127.0.0.1:2/api/v3/" {
		t.Fatalf("%+v", f)
	}
	for _, s := range []string{gh, key, slack, webhook} {
		if got := secret.Redact("value: " + s); strings.TrimSpace(got) != "value: "+secret.Mask {
			t.Errorf("%q is not redacted: %q", s, got)
		}
	}
	if f := ReadFacts([]string{"GITHUB_TOKEN=first-token-0001", "GH_TOKEN=second-token-0002"}, false); f.GitHubToken != "first-token-0001" {
		t.Errorf("GITHUB_TOKEN and GH_TOKEN: %q, want GITHUB_TOKEN's", f.GitHubToken)
	}
}

func TestReadFactsCIJob(t *testing.T) {
	for _, tc := range []struct {
		env      []string
		job, url string
	}{
		{[]string{"CIRCLECI=true", "CIRCLE_JOB=publish-cli", "CIRCLE_BUILD_URL=https://ci.example.test/jobs/42"}, "publish-cli", "https://ci.example.test/jobs/42"},
		{[]string{"GITHUB_ACTIONS=true", "GITHUB_JOB=publish-cli", "GITHUB_SERVER_URL=https://ghe.example.test/", "GITHUB_REPOSITORY=o/r", "GITHUB_RUN_ID=7"}, "publish-cli", "https://ghe.example.test/o/r/actions/runs/7"},
		{[]string{"CIRCLE_JOB=x", "CIRCLE_BUILD_URL=y"}, "", ""}, // not on CircleCI
	} {
		f := ReadFacts(tc.env, false)
		if f.CIJob != tc.job || f.CIJobURL != tc.url {
			t.Errorf("%v: job %q url %q, want %q %q", tc.env, f.CIJob, f.CIJobURL, tc.job, tc.url)
		}
	}
}
