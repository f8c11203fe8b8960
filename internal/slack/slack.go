// Package slack posts a message to Slack, with a bot token through the Web
// API's chat.postMessage or through an incoming webhook, over plain
// net/http (two small JSON requests need no client library). Errors say
// what Slack answered and what usually fixes it, and never carry the token
// or the webhook's URL.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/secret"
)

// Message is what is posted: Text (the notification's and the fallback's
// text) and Blocks (Block Kit layout blocks).
type Message struct {
	Text   string           `json:"text"`
	Blocks []map[string]any `json:"blocks,omitempty"`
}

// Section is a section block of mrkdwn text.
func Section(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

// Context is a context block of mrkdwn texts (small print).
func Context(texts ...string) map[string]any {
	var els []map[string]any
	for _, t := range texts {
		els = append(els, map[string]any{"type": "mrkdwn", "text": t})
	}
	return map[string]any{"type": "context", "elements": els}
}

// Link is a mrkdwn link, with the characters Slack reserves escaped.
func Link(url, text string) string {
	return "<" + url + "|" + Escape(text) + ">"
}

// Escape escapes &, < and > as Slack's mrkdwn wants.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Poster posts messages. Set Token and Channel, or Webhook.
type Poster struct {
	// APIURL is the Web API's base URL, ending in "/".
	APIURL string
	// Token is a bot token (xoxb-...) and Channel the channel it posts to.
	Token, Channel string
	// Webhook is an incoming webhook's URL (a secret: it is all it takes).
	Webhook string
	// HTTP is the client; nil means one with a 30-second timeout.
	HTTP *http.Client
	// MaxWait bounds the one wait before trying again after a 429 or a
	// 5xx (Retry-After, when Slack sends one); default 10s.
	MaxWait time.Duration
}

// Via says how p posts, for output: "chat.postMessage to #releases" or "an
// incoming webhook".
func (p Poster) Via() string {
	if p.Token != "" {
		return "chat.postMessage to " + p.Channel
	}
	return "an incoming webhook"
}

// Post posts m, trying once more after a 429 or a 5xx.
func (p Poster) Post(ctx context.Context, m Message) error {
	if p.Token == "" && p.Webhook == "" {
		return fmt.Errorf("no Slack credentials: set SLACK_BOT_TOKEN (with slack.channel in the release configuration) or SLACK_WEBHOOK_URL")
	}
	if p.Token != "" && p.Channel == "" {
		return fmt.Errorf("SLACK_BOT_TOKEN is set but no channel: set slack.channel in the release configuration (or use SLACK_WEBHOOK_URL)")
	}
	wait := p.MaxWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	var err error
	for try := 1; try <= 2; try++ {
		var again time.Duration
		again, err = p.post(ctx, m)
		if err == nil || again < 0 || try == 2 {
			break
		}
		select {
		case <-time.After(min(again, wait)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// post sends one request; again >= 0 when it is worth another try after
// that long.
func (p Poster) post(ctx context.Context, m Message) (again time.Duration, err error) {
	hc := p.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	url, body := p.Webhook, map[string]any{"text": m.Text, "blocks": m.Blocks}
	if p.Token != "" {
		url = strings.TrimSuffix(p.APIURL, "/") + "/chat.postMessage"
		body["channel"] = p.Channel
		body["unfurl_links"] = false
	}
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false) // Slack's links are <url|text>
	if err := enc.Encode(body); err != nil {
		return -1, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &data)
	if err != nil {
		return -1, fmt.Errorf("Slack: %s", secret.Redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The error quotes the URL: a webhook's is its secret.
		msg := secret.Redact(strings.ReplaceAll(err.Error(), p.Webhook, "the webhook"))
		return 0, fmt.Errorf("Slack unreachable: %s", msg)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	retry := time.Duration(-1)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		retry = time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			retry = time.Duration(s) * time.Second
		}
	}
	text := strings.TrimSpace(secret.Redact(string(raw)))
	if p.Token == "" {
		if resp.StatusCode == http.StatusOK {
			return -1, nil
		}
		return retry, fmt.Errorf("the Slack webhook answered %d %s%s", resp.StatusCode, text, webhookHint(text))
	}
	if resp.StatusCode != http.StatusOK {
		return retry, fmt.Errorf("Slack's chat.postMessage answered %d %s", resp.StatusCode, text)
	}
	var ans struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return -1, fmt.Errorf("Slack's chat.postMessage answered %q, not JSON", text)
	}
	if !ans.OK {
		if ans.Error == "ratelimited" {
			retry = time.Second
		}
		return retry, fmt.Errorf("Slack's chat.postMessage refused the message: %s%s", ans.Error, tokenHint(ans.Error, p.Channel))
	}
	return -1, nil
}

func tokenHint(code, channel string) string {
	switch code {
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		return ": SLACK_BOT_TOKEN is wrong, revoked or expired; give it the bot token (xoxb-...) of the Slack app"
	case "channel_not_found":
		return fmt.Sprintf(": no channel %s that the bot can see; check slack.channel (a private channel needs the bot invited)", channel)
	case "not_in_channel":
		return fmt.Sprintf(": invite the bot to %s (/invite @bot)", channel)
	case "missing_scope":
		return ": the bot token needs the chat:write scope"
	case "is_archived":
		return fmt.Sprintf(": %s is archived; set slack.channel to another", channel)
	}
	return ""
}

func webhookHint(body string) string {
	switch body {
	case "no_service", "invalid_token", "action_prohibited":
		return ": SLACK_WEBHOOK_URL is wrong or the webhook was removed; make a new incoming webhook"
	case "channel_not_found", "channel_is_archived":
		return ": the webhook's channel is gone or archived; make a webhook for another channel"
	}
	return ""
}
