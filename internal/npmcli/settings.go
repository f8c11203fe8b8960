package npmcli

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/secret"
)

//go:embed settings.js
var settingsScript string

// Settings is what npm's configuration says about registries and the
// network, resolved by npm's own modules (see settings.js): every source
// npm reads, in npm's order, including values `npm config list` hides
// because they hold credentials.
type Settings struct {
	// NPMVersion is the version of the npm that resolved them.
	NPMVersion string `json:"npmVersion"`
	// Registry is the default registry.
	Registry string `json:"registry"`
	// Scopes maps "@scope" to the scope's registry.
	Scopes map[string]string `json:"scopes"`
	// Registries is the registry npm picks for each package asked about.
	Registries map[string]string `json:"registries"`
	// Proxy is the proxy npm uses for every registry request
	// (https-proxy, else proxy); empty when none is configured, in which
	// case npm falls back to HTTPS_PROXY and friends (see registry.Network).
	Proxy string `json:"proxy"`
	// NoProxy is npm's noproxy.
	NoProxy string `json:"noProxy"`
	// CA holds the certificate authorities npm trusts instead of the
	// system's (ca, or the contents of cafile), as PEM.
	CA []string `json:"ca"`
	// StrictSSL is npm's strict-ssl.
	StrictSSL bool `json:"strictSSL"`
	// TimeoutMS is npm's fetch-timeout in milliseconds; TimeoutSet tells
	// whether it was configured (not npm's default).
	TimeoutMS  int64 `json:"timeout"`
	TimeoutSet bool  `json:"timeoutSet"`
	// Where says where each setting that is not npm's default came from
	// ("user config /home/me/.npmrc").
	Where map[string]string `json:"where"`
	// UserConfig and GlobalConfig are the user and global npmrc files npm
	// reads (userconfig, globalconfig), whether or not they exist.
	UserConfig   string `json:"userconfig"`
	GlobalConfig string `json:"globalconfig"`
}

// Timeout is fetch-timeout when it was configured, else zero.
func (s *Settings) Timeout() time.Duration {
	if !s.TimeoutSet {
		return 0
	}
	return time.Duration(s.TimeoutMS) * time.Millisecond
}

// RegistryFor returns the registry npm uses for the package name, as
// npm-registry-fetch picks it: the scope's registry when one is set, else
// the default registry. The URL ends with a slash.
func (s *Settings) RegistryFor(name string) (string, error) {
	reg := s.Registry
	if r, ok := s.Registries[name]; ok {
		reg = r
	} else if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") && s.Scopes[scope] != "" {
		reg = s.Scopes[scope]
	}
	if reg == "" {
		return "", errors.New("npm has no registry configured: set one with `npm config set registry <url>` or NPM_CONFIG_REGISTRY")
	}
	if !strings.HasSuffix(reg, "/") {
		reg += "/"
	}
	return reg, nil
}

var rootRE = regexp.MustCompile(`(?m)^npm@\S+ (.+?)\s*$`)

// Root returns the directory npm runs from, as `npm help` prints it.
func (c *CLI) Root(ctx context.Context) (string, error) {
	c.rootOnce.Do(func() {
		out, err := c.Run(ctx, nil, "help")
		if err != nil {
			c.rootErr = fmt.Errorf("find npm's own directory: %w", err)
			return
		}
		m := rootRE.FindAllStringSubmatch(out, -1)
		if len(m) == 0 {
			c.rootErr = errors.New("find npm's own directory: `npm help` did not print it (npm@<version> <dir>); is this npm 10 or newer?")
			return
		}
		c.root = m[len(m)-1][1]
	})
	return c.root, c.rootErr
}

// Settings returns npm's settings for this directory and environment,
// read once.
func (c *CLI) Settings(ctx context.Context) (*Settings, error) {
	c.settingsOnce.Do(func() {
		c.settings, c.settingsErr = c.Resolve(ctx, nil, nil, nil)
	})
	return c.settings, c.settingsErr
}

// Resolve reads npm's settings as an npm run with args (for example
// `publish x.tgz --registry ...`) sees them, after a package's
// publishConfig (nil for none) when it publishes, and picks the registry
// of each of names. Credentials found in URLs are registered as secrets.
func (c *CLI) Resolve(ctx context.Context, args []string, publishConfig json.RawMessage, names []string) (*Settings, error) {
	root, err := c.Root(ctx)
	if err != nil {
		return nil, err
	}
	if args == nil {
		args = []string{}
	}
	if names == nil {
		names = []string{}
	}
	if len(publishConfig) == 0 {
		publishConfig = json.RawMessage("null")
	}
	a, _ := json.Marshal(args)
	n, _ := json.Marshal(names)
	out, err := c.runner().Output(ctx, command.Cmd{
		Name:  "node",
		Args:  []string{"-", root, string(a), string(publishConfig), string(n)},
		Stdin: strings.NewReader(settingsScript),
	})
	if err != nil {
		ce, _ := command.AsError(err)
		if ce != nil && ce.NotFound {
			return nil, fmt.Errorf("read npm's configuration: cannot run node: %v; install Node.js", ce.Start)
		}
		if ce != nil && ce.Useful() != "" {
			return nil, fmt.Errorf("read npm's configuration (npm at %s): %s", root, ce.Useful())
		}
		return nil, fmt.Errorf("read npm's configuration (npm at %s): %w", root, err)
	}
	s := &Settings{}
	if err := json.Unmarshal([]byte(out), s); err != nil {
		return nil, fmt.Errorf("read npm's configuration (npm at %s): the answer is not JSON (%d bytes)", root, len(out))
	}
	for _, u := range append([]string{s.Registry, s.Proxy}, values(s.Scopes, s.Registries)...) {
		registerCredentials(u)
	}
	return s, nil
}

func values(ms ...map[string]string) []string {
	var out []string
	for _, m := range ms {
		for _, v := range m {
			out = append(out, v)
		}
	}
	return out
}

// registerCredentials registers the password of a URL as a secret, so
// that it is masked wherever it could surface.
func registerCredentials(raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return
	}
	if p, ok := u.User.Password(); ok {
		secret.Register(p)
		secret.Register(u.User.Username() + ":" + p)
	}
}

// PublishRegistry returns the registry `npm publish` would publish name to
// when run with o, for a package whose package.json has publishConfig:
// npm picks it itself (a scope registry wins over --registry, and
// publishConfig may name another), so the toolkit asks rather than
// assumes.
func (c *CLI) PublishRegistry(ctx context.Context, o PublishOptions, name string, publishConfig json.RawMessage) (string, error) {
	s, err := c.Resolve(ctx, publishArgs(o), publishConfig, []string{name})
	if err != nil {
		return "", err
	}
	return s.RegistryFor(name)
}

// SameRegistry reports whether two registry URLs name the same registry
// (scheme, host, port and path; a trailing slash and credentials aside).
func SameRegistry(a, b string) bool {
	norm := func(s string) string {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return s
		}
		u.User = nil
		u.Host = strings.ToLower(u.Host)
		u.Path = strings.TrimSuffix(u.Path, "/")
		return u.String()
	}
	return norm(a) == norm(b)
}
