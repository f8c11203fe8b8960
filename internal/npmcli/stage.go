package npmcli

import (
	"context"
	"encoding/json"
	"fmt"

	"path/filepath"
	"regexp"
	"strings"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/registry"
)

// stagedLine is what `npm stage publish` prints on standard output once the
// registry took the upload (lib/commands/publish.js):
// "+ <name>@<version> (staged with id <uuid>)".
var stagedLine = regexp.MustCompile(`^\+ \S+ \(staged with id ([0-9A-Fa-f-]{36})\)\s*$`)

// StagePublish runs `npm stage publish` (npm 11.15 or newer) and returns
// the stage id npm printed. o.OTP and o.Interactive are not used: staging
// needs no second factor.
func (c *CLI) StagePublish(ctx context.Context, o PublishOptions) (string, error) {
	args := []string{"stage", "publish", o.Path, "--registry", o.Registry}
	if o.Tag != "" {
		args = append(args, "--tag", o.Tag)
	}
	if o.Access != "" {
		args = append(args, "--access", o.Access)
	}
	id, err := c.runner().Pipe(ctx, command.Cmd{Name: c.bin(), Args: args, Env: o.Env}).
		MatchRegexp(stagedLine).ReplaceRegexp(stagedLine, "$1").First(1).String()
	if err != nil {
		return "", c.wrap(ctx, args, err)
	}
	if id = strings.TrimSpace(id); id == "" {
		return "", fmt.Errorf("npm %s succeeded but printed no \"staged with id\" line: is this npm 11.15 or newer?", strings.Join(redactArgs(args), " "))
	}
	return id, nil
}

// StageList returns what `npm stage list <pkg> --json` prints: the staged
// versions of pkg that npm's login may see.
func (c *CLI) StageList(ctx context.Context, pkg, reg string) ([]registry.Staged, error) {
	out, err := c.Run(ctx, nil, "stage", "list", pkg, "--json", "--registry", reg)
	if err != nil {
		return nil, err
	}
	var items []registry.Staged
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		return nil, fmt.Errorf("npm stage list %s --json printed no JSON list: %v", pkg, err)
	}
	var mine []registry.Staged
	for _, s := range items {
		if s.PackageName == pkg {
			mine = append(mine, s)
		}
	}
	return mine, nil
}

// StageDownload runs `npm stage download <id>` in dir, with npm's login,
// and returns the path of the tarball it wrote there.
func (c *CLI) StageDownload(ctx context.Context, id, reg, dir string) (string, error) {
	if _, err := c.Do(ctx, Call{Args: []string{"stage", "download", id, "--json", "--registry", reg}, Dir: dir}); err != nil {
		return "", err
	}
	// npm names it <name without @, / as ->-<version>-<id>.tgz.
	found, _ := filepath.Glob(filepath.Join(dir, "*-"+id+".tgz"))
	if len(found) != 1 {
		return "", fmt.Errorf("npm stage download %s wrote no tarball named *-%s.tgz in %s", id, id, dir)
	}
	return found[0], nil
}

// StageApprove runs `npm stage approve <id>`, which publishes the staged
// package. Approving needs a one-time password: otp, or npm's own prompt
// when interactive.
func (c *CLI) StageApprove(ctx context.Context, id, reg, otp string, interactive bool) error {
	_, err := c.Do(ctx, Call{Args: withOTP([]string{"stage", "approve", id, "--registry", reg}, otp), Interactive: interactive})
	return err
}

// StageReject runs `npm stage reject <id>`, which deletes the staged
// package. It needs a one-time password as StageApprove does.
func (c *CLI) StageReject(ctx context.Context, id, reg, otp string, interactive bool) error {
	_, err := c.Do(ctx, Call{Args: withOTP([]string{"stage", "reject", id, "--registry", reg}, otp), Interactive: interactive})
	return err
}
