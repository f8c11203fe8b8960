package npm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Message kinds in launcher/lib/messages.json.
const (
	KindHeadline = "headline" // first line of a failure
	KindCause    = "cause"    // a likely cause, with the commands that fix it
	KindNotice   = "notice"   // a line printed alongside, not a failure
)

// Message is one entry of the launcher's message catalogue
// (launcher/lib/messages.json), the same text the launcher prints.
type Message struct {
	ID    string   `json:"id"`
	Kind  string   `json:"kind"`
	Text  string   `json:"text"`
	Fixes []string `json:"fixes,omitempty"`
}

var placeholderRE = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// Messages returns the launcher's messages with the manifest's values filled
// in ({name}, {version}, {binary}, {envOverride}), as lib/messages.js
// catalogFor renders them. Placeholders only known when the launcher runs
// ({host}, {path}, {error}, {from}, {to}) stay as written. A README's
// troubleshooting section can quote every cause's Text and Fixes verbatim.
func Messages(m Manifest) ([]Message, error) {
	raw, err := launcherFS.ReadFile("launcher/lib/messages.json")
	if err != nil {
		return nil, fmt.Errorf("read embedded launcher messages: %w", err)
	}
	var doc struct {
		Messages []Message `json:"messages"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode embedded launcher/lib/messages.json: %w", err)
	}
	vars := map[string]string{
		"name":        m.Name,
		"version":     m.Version,
		"binary":      m.Binary,
		"envOverride": m.EnvOverride,
	}
	fill := func(s string) string {
		return placeholderRE.ReplaceAllStringFunc(s, func(whole string) string {
			if v, ok := vars[whole[1:len(whole)-1]]; ok {
				return v
			}
			return whole
		})
	}
	for i := range doc.Messages {
		msg := &doc.Messages[i]
		msg.Text = fill(msg.Text)
		for j := range msg.Fixes {
			msg.Fixes[j] = fill(msg.Fixes[j])
		}
	}
	return doc.Messages, nil
}

// Causes returns only the KindCause messages: the troubleshooting entries.
func Causes(m Manifest) ([]Message, error) {
	all, err := Messages(m)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, msg := range all {
		if msg.Kind == KindCause {
			out = append(out, msg)
		}
	}
	return out, nil
}

// Troubleshooting renders the launcher's causes and fixes as a Markdown
// section for the CLI package's README, worded exactly as the launcher
// prints them.
func Troubleshooting(m Manifest) (string, error) {
	causes, err := Causes(m)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("## Troubleshooting\n\n")
	fmt.Fprintf(&b, "When `%s` cannot run its native binary it says why and what to run. The causes it reports:\n\n", m.Binary)
	for _, c := range causes {
		fmt.Fprintf(&b, "- %s\n\n", c.Text)
		b.WriteString("  ```sh\n")
		for i, f := range c.Fixes {
			if i > 0 {
				b.WriteString("  # or\n")
			}
			fmt.Fprintf(&b, "  %s\n", f)
		}
		b.WriteString("  ```\n\n")
	}
	return b.String(), nil
}

// CheckTroubleshooting reports every cause text or fix command of the
// launcher that readme does not contain word for word, so a README cannot
// drift from what users see in their terminal.
func CheckTroubleshooting(readme string, m Manifest) error {
	causes, err := Causes(m)
	if err != nil {
		return err
	}
	var missing []string
	for _, c := range causes {
		for _, s := range append([]string{c.Text}, c.Fixes...) {
			if !strings.Contains(readme, s) {
				missing = append(missing, fmt.Sprintf("%s: %q", c.ID, s))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("README troubleshooting section lacks %d launcher message(s); regenerate it with npm.Troubleshooting:\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
	return nil
}
