// Package notify posts a release's notice to Slack: on success the
// version, the packages, and links to the CLI package and the GitHub
// Release; on failure what failed, the CI job's link, and the next action
// that `status` gives. A notice that cannot be sent never fails the
// release: it is reported, and the caller carries on.
package notify

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/githubapi"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/slack"
	"github.com/agent-facets/release/internal/status"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
)

// Results a notice reports.
const (
	Success = "success"
	Failure = "failure"
)

// Options say what the notice reports.
type Options struct {
	// Result is Success or Failure.
	Result string
	// Version is the release version.
	Version string
	// Failed names what failed (a failure notice); default the CI job.
	Failed string
	// Slack tunes the poster (tests: a short MaxWait).
	Slack slack.Poster
	// Next, when set, replaces the status read that gives a failure's next
	// action (tests).
	Next func(ctx context.Context) (string, error)
}

// Run builds the notice and posts it. The error is only for options that
// make no notice (an unknown result, a bad version); a notice Slack did not
// take comes back as a failed record, with the reason, and a nil error.
func Run(ctx context.Context, e *toolkit.Env, o Options) (outcome.Record, error) {
	start := time.Now()
	rec := outcome.Record{Package: "Slack notice (" + o.Result + ")", Version: o.Version}
	if o.Result != Success && o.Result != Failure {
		return rec, fmt.Errorf("notify %q: say success or failure", o.Result)
	}
	if _, err := version.Validate(o.Version); err != nil {
		return rec, err
	}
	msg := Message(ctx, e, o)
	p := o.Slack
	p.APIURL = e.Cfg.Slack.APIURL
	p.Channel = e.Cfg.Slack.Channel
	p.Token, p.Webhook = e.Facts.SlackToken, e.Facts.SlackWebhook
	if p.Token != "" && p.Channel == "" && p.Webhook != "" {
		p.Token = "" // no channel for the token: the webhook knows its own
	}
	if p.Token == "" && p.Webhook == "" {
		rec.Action, rec.Note, rec.Duration = outcome.Skipped, "no Slack credentials (SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL)", time.Since(start)
		e.Out.Line(report.Warn, "no notice sent: neither SLACK_BOT_TOKEN nor SLACK_WEBHOOK_URL is set (the release is not affected)")
		e.Out.Text("  %s", msg.Text)
		return rec, nil
	}
	err := p.Post(ctx, msg)
	rec.Duration = time.Since(start)
	if err != nil {
		rec.Action, rec.Error = outcome.Failed, err.Error()
		e.Out.Line(report.Failed, "the notice was not sent through %s: %v (the release is not affected)", p.Via(), err)
		e.Out.Text("  %s", msg.Text)
		return rec, nil
	}
	rec.Action, rec.Note = outcome.Published, "sent through "+p.Via()
	e.Out.Line(report.Added, "notice sent through %s: %s", p.Via(), msg.Text)
	return rec, nil
}

// Message is the notice of o.
func Message(ctx context.Context, e *toolkit.Env, o Options) slack.Message {
	cfg := e.Cfg
	tag := cfg.Release.TagPrefix + o.Version
	name := cfg.CLI.Package + " " + o.Version
	job := ""
	if e.Facts.CIJobURL != "" {
		job = slack.Link(e.Facts.CIJobURL, "the CI job"+maybe(" ", e.Facts.CIJob))
	}
	if o.Result == Success {
		pkgs := fmt.Sprintf("%s and its %d platform packages (%s)", code(cfg.CLI.Package+"@"+o.Version), len(cfg.Targets), code(cfg.PlatformPackage("*")))
		if u := PackageURL(ctx, e, cfg.CLI.Package, o.Version); u != "" {
			pkgs = slack.Link(u, cfg.CLI.Package+"@"+o.Version) + fmt.Sprintf(" and its %d platform packages (%s)", len(cfg.Targets), code(cfg.PlatformPackage("*")))
		}
		blocks := []map[string]any{
			slack.Section(fmt.Sprintf(":white_check_mark: *%s is released.*", slack.Escape(name))),
			slack.Section("*npm:* " + pkgs),
		}
		if u := ReleaseURL(e, tag); u != "" {
			blocks = append(blocks, slack.Section(fmt.Sprintf("*GitHub:* %s (%d standalone archives and %s)", slack.Link(u, "Release "+tag), len(cfg.ArchiveList()), code(cfg.Assets.Checksums))))
		}
		if job != "" {
			blocks = append(blocks, slack.Context("Released by "+job))
		}
		return slack.Message{Text: fmt.Sprintf("%s is released: npm %s@%s, GitHub Release %s", name, cfg.CLI.Package, o.Version, tag), Blocks: blocks}
	}

	failed := o.Failed
	if failed == "" {
		failed = e.Facts.CIJob
	}
	if failed == "" {
		failed = "a release step"
	}
	next := o.Next
	if next == nil {
		next = func(ctx context.Context) (string, error) {
			r, err := status.Read(ctx, e, o.Version)
			if err != nil {
				return "", err
			}
			return r.Next, nil
		}
	}
	what, err := next(ctx)
	if err != nil {
		what = fmt.Sprintf("run `go tool mage status %s` (the registry could not be read here: %s)", o.Version, outcome.FirstLine(err.Error()))
	}
	blocks := []map[string]any{
		slack.Section(fmt.Sprintf(":x: *The release of %s failed* in %s.", slack.Escape(name), code(failed))),
		slack.Section("*Next:* " + slack.Escape(what)),
	}
	if job != "" {
		blocks = append(blocks, slack.Context("Details: "+job))
	}
	return slack.Message{Text: fmt.Sprintf("The release of %s failed in %s; next: %s", name, failed, what), Blocks: blocks}
}

// PackageURL is a link to name@v: release.packageURL filled in, else the
// version's document on the registry it was published to, else "".
func PackageURL(ctx context.Context, e *toolkit.Env, name, v string) string {
	if t := e.Cfg.Release.PackageURL; t != "" {
		return strings.NewReplacer("{package}", name, "{version}", v).Replace(t)
	}
	reg, err := e.Registry(ctx, name)
	if err != nil || reg == "" {
		return ""
	}
	// A registry URL's credentials never reach a notice.
	return registry.PackageURL(registry.Redact(reg), name) + "/" + url.PathEscape(v)
}

// ReleaseURL is the page of the GitHub Release of tag, or "" when no
// repository is configured.
func ReleaseURL(e *toolkit.Env, tag string) string {
	if e.Cfg.GitHub.Repository == "" {
		return ""
	}
	_, _, web, err := githubapi.Endpoints(e)
	if err != nil {
		return ""
	}
	return web + e.Cfg.GitHub.Repository + "/releases/tag/" + url.PathEscape(tag)
}

func code(s string) string { return "`" + slack.Escape(s) + "`" }

func maybe(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
