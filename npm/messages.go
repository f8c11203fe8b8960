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
	KindProblem  = "problem"  // why a file cannot run, inside a headline
	KindReason   = "reason"   // why a build does not run, inside a notice
	KindContext  = "context"  // a way of installing that fixes are keyed by
	KindPins     = "pins"     // where a package manager keeps version pins
)

// Message is one entry of the launcher's message catalogue
// (launcher/lib/messages.json), the same text the launcher prints. A cause's
// Fixes are keyed by context: the package manager that installed the CLI
// (npm, npm-global, npx, pnpm, yarn, yarn-berry, yarn-pnp, bun) or, for
// fixes that only depend on the shell, posix or windows.
type Message struct {
	ID    string              `json:"id"`
	Kind  string              `json:"kind"`
	Text  string              `json:"text"`
	Fixes map[string][]string `json:"fixes,omitempty"`
}

var placeholderRE = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// Fill replaces the {key} placeholders of s that vars has; others stay.
func Fill(s string, vars map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(whole string) string {
		if v, ok := vars[whole[1:len(whole)-1]]; ok {
			return v
		}
		return whole
	})
}

// Messages returns the launcher's messages with the manifest's values filled
// in ({name}, {version}, {binary}, {envOverride}), as lib/messages.js
// catalogFor renders them, in catalogue order. Placeholders only known when
// the launcher runs ({host}, {path}, {packageDir}, {root}, ...) stay as
// written.
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
	for i := range doc.Messages {
		msg := &doc.Messages[i]
		msg.Text = Fill(msg.Text, vars)
		for k, fixes := range msg.Fixes {
			for j := range fixes {
				fixes[j] = Fill(fixes[j], vars)
			}
			msg.Fixes[k] = fixes
		}
	}
	return doc.Messages, nil
}

// ofKind returns the messages of one kind, in catalogue order.
func ofKind(m Manifest, kind string) ([]Message, error) {
	all, err := Messages(m)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, msg := range all {
		if msg.Kind == kind {
			out = append(out, msg)
		}
	}
	return out, nil
}

// Causes returns only the KindCause messages: the troubleshooting entries.
func Causes(m Manifest) ([]Message, error) { return ofKind(m, KindCause) }

// Contexts returns the KindContext messages: the ways of installing fixes
// are keyed by, in the order the README lists them, each with its label.
func Contexts(m Manifest) ([]Message, error) { return ofKind(m, KindContext) }

// readmeNames are how the README shows the placeholders that the launcher
// fills in at run time.
var readmeNames = map[string]string{
	"packageDir": "<platform package dir>",
	"root":       "<install dir>",
	"path":       "<binary>",
	"pins":       "see below",
}

// causeSection renders one cause as a Markdown list item: its text, then a
// shell block with the fixes for each context, under a comment naming it.
func causeSection(c Message, contexts, pins []Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- %s\n\n", Fill(c.Text, readmeNames))
	b.WriteString("  ```sh\n")
	for _, ctx := range contexts {
		fixes, ok := c.Fixes[ctx.ID]
		if !ok {
			continue
		}
		label := ctx.Text
		if strings.Contains(c.Text, "{pins}") {
			for _, p := range pins {
				if p.ID == ctx.ID {
					label += " (pins: " + p.Text + ")"
				}
			}
		}
		fmt.Fprintf(&b, "  # %s\n", label)
		for _, f := range fixes {
			fmt.Fprintf(&b, "  %s\n", Fill(f, readmeNames))
		}
	}
	b.WriteString("  ```\n")
	return b.String()
}

func sections(m Manifest) ([]Message, []string, error) {
	causes, err := Causes(m)
	if err != nil {
		return nil, nil, err
	}
	contexts, err := Contexts(m)
	if err != nil {
		return nil, nil, err
	}
	pins, err := ofKind(m, KindPins)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, c := range causes {
		out = append(out, causeSection(c, contexts, pins))
	}
	return causes, out, nil
}

// Troubleshooting renders the launcher's causes and fixes as a Markdown
// section for a README, worded exactly as the launcher prints them: each
// cause with the commands for every package manager (and shell) it applies
// to.
func Troubleshooting(m Manifest) (string, error) {
	_, secs, err := sections(m)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("## Troubleshooting\n\n")
	fmt.Fprintf(&b, "When `%s` cannot run its native binary it says why and what to run for the package manager "+
		"that installed it (its message names it: \"Installed with pnpm in /path/to/project.\"); a fix that runs in "+
		"the project starts with `cd <install dir> &&` when you are elsewhere. The causes it reports:\n\n", m.Binary)
	for _, s := range secs {
		b.WriteString(s)
		b.WriteString("\n")
	}
	return b.String(), nil
}

// CheckTroubleshooting reports every cause whose text, or whose fixes for
// some package manager, readme does not contain word for word as
// Troubleshooting renders them, so a README cannot drift from what users see
// in their terminal.
func CheckTroubleshooting(readme string, m Manifest) error {
	causes, secs, err := sections(m)
	if err != nil {
		return err
	}
	var missing []string
	for i, c := range causes {
		if !strings.Contains(readme, secs[i]) {
			missing = append(missing, fmt.Sprintf("%s:\n%s", c.ID, secs[i]))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("README troubleshooting section lacks %d launcher cause(s) as the launcher prints them; regenerate it with npm.Troubleshooting:\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
	return nil
}
