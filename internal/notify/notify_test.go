package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localslack"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/slack"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

type fixture struct {
	sl      *localslack.Server
	channel string
	cfg     *config.Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sl, err := localslack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sl.Close)
	id := sl.Channel("#releases")
	cfg := toolkittest.Config(t, func(c *config.Config) {
		c.Slack.APIURL = sl.APIURL()
		c.Slack.Channel = "#releases"
		c.Release.PackageURL = "https://packages.example.test/{package}/v/{version}"
		c.GitHub.APIURL = "https://ghe.example.test/api/v3/"
	})
	return &fixture{sl: sl, channel: id, cfg: cfg}
}

func (f *fixture) env(t *testing.T, env ...string) (*toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	base := []string{"SLACK_BOT_TOKEN=", "SLACK_WEBHOOK_URL=", "CIRCLECI=true", "CI=true", "CIRCLE_JOB=publish-platform-linux-x64", "CIRCLE_BUILD_URL=https://ci.example.test/jobs/42"}
	return toolkittest.Env(t, f.cfg, append(base, env...)...)
}

// texts is every mrkdwn text of a message's blocks, one a line.
func texts(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var blocks []struct {
		Text     struct{ Text string }
		Elements []struct{ Text string }
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks %s: %v", raw, err)
	}
	var out []string
	for _, b := range blocks {
		if b.Text.Text != "" {
			out = append(out, b.Text.Text)
		}
		for _, el := range b.Elements {
			out = append(out, el.Text)
		}
	}
	return strings.Join(out, "\n")
}

func quick() slack.Poster { return slack.Poster{MaxWait: time.Millisecond} }

func noSecrets(t *testing.T, secrets []string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a credential (%.10s…) is in:\n%s", s, text)
			}
		}
	}
}

func TestSuccessNotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	token := f.sl.BotToken()
	e, out := f.env(t, "SLACK_BOT_TOKEN="+token)
	rec, err := Run(ctx(t), e, Options{Result: Success, Version: "1.2.3", Slack: quick()})
	if err != nil || rec.Action != outcome.Published || rec.Note != "sent through chat.postMessage to #releases" {
		t.Fatalf("record %+v, err %v\n%s", rec, err, out)
	}
	posts := f.sl.Posts()
	if len(posts) != 1 || posts[0].Channel != f.channel || posts[0].Via != "chat.postMessage" {
		t.Fatalf("posts = %+v", posts)
	}
	p := posts[0]
	if p.Text != "agent-facets 1.2.3 is released: npm agent-facets@1.2.3, GitHub Release agent-facets@1.2.3" {
		t.Errorf("text %q", p.Text)
	}
	blocks := texts(t, p.Blocks)
	for _, w := range []string{
		"agent-facets 1.2.3 is released.",
		"<https://packages.example.test/agent-facets/v/1.2.3|agent-facets@1.2.3> and its 12 platform packages (`@agent-facets/cli-*`)",
		"<https://ghe.example.test/agent-facets/facets/releases/tag/agent-facets@1.2.3|Release agent-facets@1.2.3> (8 standalone archives and `checksums.txt`)",
		"Released by <https://ci.example.test/jobs/42|the CI job publish-platform-linux-x64>",
	} {
		if !strings.Contains(blocks, w) {
			t.Errorf("blocks lack %q:\n%s", w, blocks)
		}
	}
	noSecrets(t, []string{token}, out.String(), rec.Error)
}

func TestFailureNotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hook := f.sl.Webhook("#releases")
	e, out := f.env(t, "SLACK_WEBHOOK_URL="+hook)
	next := func(context.Context) (string, error) { return "publishPlatform linux-x64, then publishCLI", nil }
	rec, err := Run(ctx(t), e, Options{Result: Failure, Version: "1.2.3", Next: next, Slack: quick()})
	if err != nil || rec.Action != outcome.Published {
		t.Fatalf("record %+v, err %v\n%s", rec, err, out)
	}
	posts := f.sl.Posts()
	if len(posts) != 1 || posts[0].Via != "webhook" || posts[0].Channel != f.channel {
		t.Fatalf("posts = %+v", posts)
	}
	if posts[0].Text != "The release of agent-facets 1.2.3 failed in publish-platform-linux-x64; next: publishPlatform linux-x64, then publishCLI" {
		t.Errorf("text %q", posts[0].Text)
	}
	blocks := texts(t, posts[0].Blocks)
	for _, w := range []string{"failed* in `publish-platform-linux-x64`", "*Next:* publishPlatform linux-x64, then publishCLI", "Details: <https://ci.example.test/jobs/42|the CI job publish-platform-linux-x64>"} {
		if !strings.Contains(blocks, w) {
			t.Errorf("blocks lack %q:\n%s", w, blocks)
		}
	}
	noSecrets(t, []string{hook, strings.TrimPrefix(hook, f.sl.URL)}, out.String())

	// What failed, given; a status that cannot be read still says what to run.
	broken := func(context.Context) (string, error) { return "", errors.New("registry unreachable") }
	if _, err := Run(ctx(t), e, Options{Result: Failure, Version: "1.2.3", Failed: "githubRelease", Next: broken, Slack: quick()}); err != nil {
		t.Fatal(err)
	}
	if p := f.sl.Posts()[1]; !strings.Contains(p.Text, "failed in githubRelease; next: run `go tool mage status 1.2.3` (the registry could not be read here: registry unreachable)") {
		t.Errorf("text %q", p.Text)
	}
}

// TestSlackOutage: a Slack that answers 503 is tried twice, then the notice
// is reported as not sent, and Run does not fail.
func TestSlackOutage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sl.Down(-1)
	token := f.sl.BotToken()
	e, out := f.env(t, "SLACK_BOT_TOKEN="+token)
	rec, err := Run(ctx(t), e, Options{Result: Success, Version: "1.2.3", Slack: quick()})
	if err != nil {
		t.Fatalf("an outage failed the run: %v", err)
	}
	if rec.Action != outcome.Failed || !strings.Contains(rec.Error, "503") {
		t.Errorf("record %+v", rec)
	}
	if err := f.sl.AwaitRequests(ctx(t), 2); err != nil || f.sl.Requests() != 2 {
		t.Errorf("%d requests (%v), want 2: one try and one more", f.sl.Requests(), err)
	}
	if !strings.Contains(out.String(), "the notice was not sent through chat.postMessage to #releases") || !strings.Contains(out.String(), "(the release is not affected)") {
		t.Errorf("output:\n%s", out)
	}
	// A 503 once: the second try gets through.
	f.sl.Down(1)
	if rec, _ := Run(ctx(t), e, Options{Result: Success, Version: "1.2.3", Slack: quick()}); rec.Action != outcome.Published {
		t.Errorf("after one 503: %+v", rec)
	}
	noSecrets(t, []string{token}, out.String())
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		env  []string
		cfg  func(*config.Config)
		want string
	}{
		{"unknown token", []string{"SLACK_BOT_TOKEN=xoxb-000000000000-unknownunknownunknownxx"}, nil, "refused the message: invalid_auth: SLACK_BOT_TOKEN is wrong"},
		{"unknown channel", []string{"SLACK_BOT_TOKEN=" + f.sl.BotToken()}, func(c *config.Config) { c.Slack.Channel = "#nowhere" }, "channel_not_found: no channel #nowhere"},
		{"token without channel", []string{"SLACK_BOT_TOKEN=" + f.sl.BotToken()}, func(c *config.Config) { c.Slack.Channel = "" }, "no channel: set slack.channel"},
		{"removed webhook", []string{"SLACK_WEBHOOK_URL=" + f.sl.URL + "services/TGONE/BGONE/gonegonegone"}, nil, "webhook answered 404 no_service: SLACK_WEBHOOK_URL is wrong"},
		{"Slack unreachable", []string{"SLACK_WEBHOOK_URL=http://127.0.0.1:9/services/T1/B1/unreachablesecret"}, nil, "Slack unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := *f.cfg
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e, out := toolkittest.Env(t, &cfg, append([]string{"SLACK_BOT_TOKEN=", "SLACK_WEBHOOK_URL="}, tc.env...)...)
			rec, err := Run(ctx(t), e, Options{Result: Success, Version: "1.2.3", Slack: quick()})
			if err != nil || rec.Action != outcome.Failed || !strings.Contains(rec.Error, tc.want) {
				t.Errorf("record %+v, err %v", rec, err)
			}
			for _, kv := range tc.env {
				_, v, _ := strings.Cut(kv, "=")
				noSecrets(t, []string{v, "unreachablesecret", "gonegonegone"}, out.String(), rec.Error)
			}
		})
	}

	e, out := toolkittest.Env(t, f.cfg, "SLACK_BOT_TOKEN=", "SLACK_WEBHOOK_URL=")
	rec, err := Run(ctx(t), e, Options{Result: Failure, Version: "1.2.3", Next: func(context.Context) (string, error) { return "publishCLI", nil }})
	if err != nil || rec.Action != outcome.Skipped || !strings.Contains(out.String(), "no notice sent") || !strings.Contains(out.String(), "next: publishCLI") {
		t.Errorf("no credentials: %+v %v\n%s", rec, err, out)
	}
	if _, err := Run(ctx(t), e, Options{Result: "done", Version: "1.2.3"}); err == nil {
		t.Error("an unknown result was accepted")
	}
}

// Without release.packageURL the link is the version on the registry npm
// publishes to, without the credentials its URL may carry.
func TestPackageURLFromTheRegistry(t *testing.T) {
	f := newFixture(t)
	f.cfg.Release.PackageURL = ""
	e, _ := f.env(t, "NPM_CONFIG_REGISTRY=http://ci:s3cret@127.0.0.1:9/npm/")
	got := PackageURL(context.Background(), e, "@agent-facets/cli-linux-x64", "1.2.3")
	if strings.Contains(got, "s3cret") || !strings.HasSuffix(got, "127.0.0.1:9/npm/@agent-facets%2fcli-linux-x64/1.2.3") {
		t.Errorf("PackageURL = %q", got)
	}
}
