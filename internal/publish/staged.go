package publish

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/agent-facets/release/internal/oidc"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/secret"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
)

// StagedReader reads a registry's staging area: which versions of a
// package are staged, and the integrity of a staged tarball.
//
// It reads anonymously first. That a registry lists a package's staged
// versions, and serves their tarballs, to anyone is an assumption (npm's
// registry does not document who may read them); when the registry refuses
// (401 or 403) the reader falls back to the credentials of Auth: trusted
// publishing's token for the package (the registry's token exchange) when
// Auth is OIDC, else npm's own login through `npm stage list` and
// `npm stage download`. A refusal is remembered per registry.
type StagedReader struct {
	Env *toolkit.Env
	// Auth are the credentials to fall back to; nil means npm's login.
	Auth Auth

	mu      sync.Mutex
	refused map[string]bool
}

// tokenAuth is an Auth that can hand out a registry token for a package.
type tokenAuth interface {
	RegistryToken(ctx context.Context, pkg, reg string) (string, error)
}

func (s *StagedReader) anonymous(reg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.refused[reg]
}

func (s *StagedReader) refuse(reg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	s.refused[reg] = true
}

// List returns the staged versions of pkg on reg.
func (s *StagedReader) List(ctx context.Context, reg, pkg string) ([]registry.Staged, error) {
	e := s.Env
	if s.anonymous(reg) {
		items, err := e.Reg.StagedList(ctx, reg, pkg, "")
		if !registry.IsRefused(err) {
			return items, err
		}
		s.refuse(reg)
	}
	if ta, ok := s.Auth.(tokenAuth); ok {
		tok, err := ta.RegistryToken(ctx, pkg, reg)
		if err != nil {
			return nil, fmt.Errorf("the registry lists staged versions only with credentials, and: %w", err)
		}
		return e.Reg.StagedList(ctx, reg, pkg, tok)
	}
	items, err := e.NPM.StageList(ctx, pkg, reg)
	if err != nil {
		return nil, fmt.Errorf("the registry lists staged versions only with credentials, and npm's login could not list them: %w", err)
	}
	return items, nil
}

// Integrity returns the sha512 integrity of the staged tarball of item:
// the listed one when the registry lists it, else that of the downloaded
// tarball (whose shasum must then be the listed one).
func (s *StagedReader) Integrity(ctx context.Context, reg string, item registry.Staged) (string, error) {
	if item.Integrity != "" {
		return item.Integrity, nil
	}
	integrity, shasum, err := s.download(ctx, reg, item)
	if err != nil {
		return "", err
	}
	if item.Shasum != "" && shasum != item.Shasum {
		return "", fmt.Errorf("%s: the registry lists shasum %s but its tarball has shasum %s", item, item.Shasum, shasum)
	}
	return integrity, nil
}

func (s *StagedReader) download(ctx context.Context, reg string, item registry.Staged) (integrity, shasum string, err error) {
	e := s.Env
	if s.anonymous(reg) {
		integrity, shasum, err := e.Reg.StagedTarball(ctx, reg, item.ID, "")
		if !registry.IsRefused(err) {
			return integrity, shasum, err
		}
		s.refuse(reg)
	}
	if ta, ok := s.Auth.(tokenAuth); ok {
		tok, err := ta.RegistryToken(ctx, item.PackageName, reg)
		if err != nil {
			return "", "", fmt.Errorf("the registry serves staged tarballs only with credentials, and: %w", err)
		}
		return e.Reg.StagedTarball(ctx, reg, item.ID, tok)
	}
	dir, err := os.MkdirTemp("", "staged-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	path, err := e.NPM.StageDownload(ctx, item.ID, reg, dir)
	if err != nil {
		return "", "", fmt.Errorf("the registry serves staged tarballs only with credentials, and npm's login could not download %s: %w", item, err)
	}
	info, err := tarball.Integrity(path)
	if err != nil {
		return "", "", err
	}
	return info.Integrity, info.Shasum, nil
}

// Find returns the staged publishes of pkg@v on reg.
func (s *StagedReader) Find(ctx context.Context, reg, pkg, v string) ([]registry.Staged, error) {
	items, err := s.List(ctx, reg, pkg)
	if err != nil {
		return nil, err
	}
	var out []registry.Staged
	for _, it := range items {
		if it.Version == v {
			out = append(out, it)
		}
	}
	return out, nil
}

// RegistryToken returns a registry token for pkg from the token exchange of
// trusted publishing, after the checks Prepare makes: the credentials a
// publish of pkg authenticates with. The token is registered as a secret.
func (a *OIDC) RegistryToken(ctx context.Context, pkg, reg string) (string, error) {
	if _, err := a.Prepare(ctx, pkg, reg); err != nil {
		return "", err
	}
	a.mu.Lock()
	id := a.token
	a.mu.Unlock()
	t, err := oidc.Exchange(ctx, reg, pkg, id)
	if err != nil {
		return "", err
	}
	secret.Register(t.Token)
	return t.Token, nil
}
