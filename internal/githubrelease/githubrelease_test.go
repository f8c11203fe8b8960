package githubrelease

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v89/github"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/githubapi"
	"github.com/agent-facets/release/internal/localgithub"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/releaseassets"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

const (
	repo = "agent-facets/facets"
	ver  = "1.2.3"
	tag  = "agent-facets@1.2.3"
)

const changes = "# agent-facets\n\n## 1.2.4\n\n- later\n\n## 1.2.3\n\n### Patch Changes\n\n- the launcher finds musl without ldd\n\n## 1.2.2\n\n- earlier\n"

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func opts() Options { return Options{Retry: 10 * time.Millisecond} }

// fixture is a repository on an emulator, a configuration pointing at it
// and the assets releaseAssets would have written.
type fixture struct {
	gh  *localgithub.Server
	cfg *config.Config
	// files are the asset files' contents by name, checksums.txt included.
	files map[string][]byte
}

func newFixture(t *testing.T, tags ...string) *fixture {
	t.Helper()
	gh, err := localgithub.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	gh.AddRepo(repo, append([]string{tag}, tags...)...)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(changes), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := toolkittest.Config(t, func(c *config.Config) {
		c.Assets.Dir = filepath.Join(dir, "assets")
		c.GitHub.APIURL = gh.APIURL()
		c.GitHub.Changelog = filepath.Join(dir, "CHANGELOG.md")
	})
	f := &fixture{gh: gh, cfg: cfg}
	f.write(t, map[string][]byte{
		"facet-linux-x64.tar.gz":    bytes.Repeat([]byte("linux"), 4000),
		"facet-darwin-arm64.tar.gz": bytes.Repeat([]byte("darwin"), 3000),
		"facet-windows-x64.zip":     bytes.Repeat([]byte("windows"), 2000),
	})
	return f
}

// madeFor records the assets as releaseAssets made them for version v.
func (f *fixture) madeFor(t *testing.T, v string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.cfg.AssetsDir(), releaseassets.VersionFile), []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// write replaces the assets directory with these archives and their checksums.
func (f *fixture) write(t *testing.T, archives map[string][]byte) {
	t.Helper()
	dir := f.cfg.AssetsDir()
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.files = map[string][]byte{}
	var infos []archive.Info
	for name, data := range archives {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, sum, _ := archive.SHA256File(p)
		infos = append(infos, archive.Info{Name: name, SHA256: sum})
		f.files[name] = data
	}
	sums := archive.Checksums(infos)
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	f.files["checksums.txt"] = sums
	f.madeFor(t, ver)
}

// env is an Env with exactly these GitHub credentials.
func (f *fixture) env(t *testing.T, creds ...string) (*toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	base := []string{"GITHUB_TOKEN=", "GH_TOKEN=", "GITHUB_APP_ID=", "GITHUB_APP_INSTALLATION_ID=", "GITHUB_APP_PRIVATE_KEY=", "GITHUB_API_URL="}
	return toolkittest.Env(t, f.cfg, append(base, creds...)...)
}

// release returns the emulator's one release, failing unless there is one.
func (f *fixture) release(t *testing.T) localgithub.Release {
	t.Helper()
	rels := f.gh.Releases(repo)
	if len(rels) != 1 {
		t.Fatalf("%d releases on the emulator, want 1: %+v", len(rels), rels)
	}
	return rels[0]
}

// assetsMatch checks the release holds exactly the fixture's files.
func (f *fixture) assetsMatch(t *testing.T, rel localgithub.Release) {
	t.Helper()
	if len(rel.Assets) != len(f.files) {
		var names []string
		for _, a := range rel.Assets {
			names = append(names, a.Name)
		}
		t.Errorf("release assets %v, want the %d files", names, len(f.files))
	}
	for _, a := range rel.Assets {
		want, ok := f.files[a.Name]
		if !ok || !bytes.Equal(a.Data, want) || a.State != "uploaded" {
			t.Errorf("asset %s (%s): %d bytes, want %d (known %v)", a.Name, a.State, len(a.Data), len(want), ok)
		}
	}
}

// noSecrets fails when any of the strings holds a credential.
func noSecrets(t *testing.T, secrets []string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range append(secrets, "ghs_", "ghp_", "PRIVATE KEY", "eyJ") {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("a credential (%.8s…) is in the output:\n%s", s, text)
			}
		}
	}
}

func actions(recs []outcome.Record) string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Package+"="+string(r.Action))
	}
	return strings.Join(out, " ")
}

// TestCreateThenRerun: the first run creates a draft, uploads every asset
// and publishes it; a re-run changes nothing and uploads nothing.
func TestCreateThenRerun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	token := f.gh.Token(repo)
	e, out := f.env(t, "GITHUB_TOKEN="+token)
	res, recs, err := Run(ctx(t), e, ver, opts())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rel := f.release(t)
	if rel.Tag != tag || rel.Name != tag || rel.Draft || rel.Prerelease || rel.MakeLatest != "legacy" {
		t.Errorf("release %+v", rel)
	}
	if rel.Body != "### Patch Changes\n\n- the launcher finds musl without ldd" {
		t.Errorf("notes = %q", rel.Body)
	}
	f.assetsMatch(t, rel)
	if res.URL != f.gh.URL+repo+"/releases/tag/"+tag || res.ID != rel.ID {
		t.Errorf("result %+v", res)
	}
	if got := actions(recs); got != "GitHub Release agent-facets@1.2.3=published facet-darwin-arm64.tar.gz=published facet-linux-x64.tar.gz=published facet-windows-x64.zip=published checksums.txt=published" {
		t.Errorf("records: %s", got)
	}
	// Created as a draft, published only after the last upload.
	reqs := f.gh.Requests()
	lastUpload, publish := -1, -1
	for i, r := range reqs {
		if r.Method == "POST" && strings.Contains(r.Path, "/api/uploads/") {
			lastUpload = i
		}
		if r.Method == "PATCH" && strings.HasSuffix(r.Path, "/releases/"+strconv.FormatInt(rel.ID, 10)) {
			publish = i
		}
	}
	if lastUpload < 0 || publish < lastUpload {
		t.Errorf("published at request %d, last upload at %d: the release was public before its assets", publish, lastUpload)
	}
	if n := f.gh.Count("POST", "/repos/agent-facets/facets/releases"); n != 1 {
		t.Errorf("%d create requests", n)
	}

	again, out2 := toolkittest.Again(t, e)
	before := len(f.gh.Requests())
	_, recs, err = Run(ctx(t), again, ver, opts())
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out2)
	}
	if got := actions(recs); strings.Count(got, "=identical") != 5 {
		t.Errorf("re-run records: %s", got)
	}
	for _, r := range f.gh.Requests()[before:] {
		if r.Method != "GET" {
			t.Errorf("the re-run sent %s %s: it should only read", r.Method, r.Path)
		}
	}
	if !strings.Contains(out2.String(), "is up to date") {
		t.Errorf("re-run output:\n%s", out2)
	}
	f.assetsMatch(t, f.release(t))
	noSecrets(t, []string{token}, out.String(), out2.String())
}

// TestChangedAsset: an asset whose bytes differ is replaced (uploaded under
// another name, the old one deleted, the new one renamed); an asset GitHub
// has no digest for is compared by its bytes; a broken upload is replaced.
func TestChangedAsset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e, out := f.env(t, "GH_TOKEN="+f.gh.Token(repo))
	if _, _, err := Run(ctx(t), e, ver, opts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	oldIDs := map[string]int64{}
	for _, a := range f.release(t).Assets {
		oldIDs[a.Name] = a.ID
	}
	// A rebuilt linux archive; darwin's digest unknown to GitHub; windows'
	// upload cut short.
	f.write(t, map[string][]byte{
		"facet-linux-x64.tar.gz":    bytes.Repeat([]byte("linux, rebuilt"), 2000),
		"facet-darwin-arm64.tar.gz": f.files["facet-darwin-arm64.tar.gz"],
		"facet-windows-x64.zip":     f.files["facet-windows-x64.zip"],
	})
	f.gh.SetAsset(repo, tag, "facet-darwin-arm64.tar.gz", f.files["facet-darwin-arm64.tar.gz"], "uploaded", false)
	f.gh.SetAsset(repo, tag, "facet-windows-x64.zip", f.files["facet-windows-x64.zip"][:100], "starter", true)

	again, out2 := toolkittest.Again(t, e)
	before := len(f.gh.Requests())
	_, recs, err := Run(ctx(t), again, ver, opts())
	if err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	got := map[string]outcome.Record{}
	for _, r := range recs {
		got[r.Package] = r
	}
	if r := got["facet-linux-x64.tar.gz"]; r.Action != outcome.Published || !strings.HasPrefix(r.Note, "replaced: GitHub held other bytes (sha256:") {
		t.Errorf("linux: %+v", r)
	}
	if r := got["facet-windows-x64.zip"]; r.Action != outcome.Published || !strings.Contains(r.Note, "upload never finished (state starter)") {
		t.Errorf("windows: %+v", r)
	}
	if r := got["facet-darwin-arm64.tar.gz"]; r.Action != outcome.Identical {
		t.Errorf("darwin: %+v", r)
	}
	// checksums.txt changed with the linux archive.
	if r := got["checksums.txt"]; r.Action != outcome.Published {
		t.Errorf("checksums.txt: %+v", r)
	}
	if r := got["GitHub Release "+tag]; r.Action != outcome.Identical {
		t.Errorf("release: %+v", r)
	}
	rel := f.release(t)
	f.assetsMatch(t, rel)
	for _, a := range rel.Assets {
		replaced := a.Name != "facet-darwin-arm64.tar.gz"
		if (a.ID != oldIDs[a.Name]) != replaced {
			t.Errorf("%s: id %d, before %d", a.Name, a.ID, oldIDs[a.Name])
		}
		if strings.HasSuffix(a.Name, ".partial") {
			t.Errorf("left behind: %s", a.Name)
		}
	}
	downloads := 0
	for _, r := range f.gh.Requests()[before:] {
		if r.Method == "GET" && strings.Contains(r.Path, "/releases/assets/") {
			downloads++
		}
	}
	if downloads != 1 {
		t.Errorf("%d asset downloads, want 1 (darwin's, which has no digest)", downloads)
	}
}

// TestNotesAndPrerelease: a release someone made by hand gets the notes;
// a prerelease version is marked so and not made latest; no changelog
// section leaves a one-line note and a warning.
func TestNotesAndPrerelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "agent-facets@2.0.0-rc.1")
	token := f.gh.Token(repo)
	// A release of the tag made on the web, published, without assets.
	e, _ := f.env(t, "GITHUB_TOKEN="+token)
	gh := client(t, e)
	if _, _, err := gh.Repositories.CreateRelease(ctx(t), "agent-facets", "facets", ghCreate("agent-facets@2.0.0-rc.1", "typed by hand")); err != nil {
		t.Fatal(err)
	}
	f.madeFor(t, "2.0.0-rc.1")
	_, recs, err := Run(ctx(t), e, "2.0.0-rc.1", opts())
	if err != nil {
		t.Fatal(err)
	}
	rel := f.release(t)
	if !rel.Prerelease || rel.MakeLatest != "" || rel.Body != "agent-facets 2.0.0-rc.1" {
		t.Errorf("release %+v", rel)
	}
	if r := recs[0]; r.Action != outcome.Published || r.Note != "updated: title, notes, prerelease" {
		t.Errorf("release record %+v", r)
	}
	f.assetsMatch(t, rel)
	if body, from, ok := Notes(e, "2.0.0-rc.1"); ok || body != "agent-facets 2.0.0-rc.1" || !strings.Contains(from, "no section for 2.0.0-rc.1 in") {
		t.Errorf("Notes = %q, %q, %v", body, from, ok)
	}
}

// TestBadToken: a 401 says the token is refused, never shows it, and
// creates nothing.
func TestBadToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := "ghp_" + strings.Repeat("x", 36)
	e, out := f.env(t, "GITHUB_TOKEN="+bad)
	_, _, err := Run(ctx(t), e, ver, opts())
	if err == nil {
		t.Fatal("a bad token worked")
	}
	for _, w := range []string{"401 Bad credentials", "the token is wrong, expired or revoked", "contents: write"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	if len(f.gh.Releases(repo)) != 0 {
		t.Error("a release was created")
	}
	noSecrets(t, []string{bad}, err.Error(), out.String())

	// A token that may not see the repository gets GitHub's 404.
	e, _ = f.env(t, "GITHUB_TOKEN="+f.gh.Token("someone/else"))
	if _, _, err := Run(ctx(t), e, ver, opts()); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "cannot see it") {
		t.Errorf("a token without access: %v", err)
	}

	// No credentials at all.
	e, _ = f.env(t)
	if _, _, err := Run(ctx(t), e, ver, opts()); err == nil || !strings.Contains(err.Error(), "no GitHub credentials: set GITHUB_TOKEN") {
		t.Errorf("no credentials: %v", err)
	}
}

// TestAppTokenFlow: the App's JWT finds the installation, mints an
// installation token, and the release is made with it; a key given in
// base64 and a configured installation id work the same.
func TestAppTokenFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app, err := f.gh.AddApp(repo)
	if err != nil {
		t.Fatal(err)
	}
	key := string(app.KeyPEM)
	e, out := f.env(t, "GITHUB_APP_ID="+app.ClientID, "GITHUB_APP_PRIVATE_KEY="+key, "GITHUB_TOKEN=ghp_"+strings.Repeat("y", 36))
	if _, _, err := Run(ctx(t), e, ver, opts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f.assetsMatch(t, f.release(t))
	inst := strconv.FormatInt(app.Installation(repo), 10)
	var lookup, mint, asInstallation, other int
	for _, r := range f.gh.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/repos/agent-facets/facets/installation") && r.Auth == "jwt" && r.Status == 200:
			lookup++
		case strings.HasSuffix(r.Path, "/app/installations/"+inst+"/access_tokens") && r.Auth == "jwt" && r.Status == 201:
			mint++
		case r.Auth == "installation":
			asInstallation++
		default:
			other++
		}
	}
	if lookup != 1 || mint != 1 || asInstallation == 0 || other != 0 {
		t.Errorf("lookup %d, mint %d, as the installation %d, other %d (the App is preferred to GITHUB_TOKEN)", lookup, mint, asInstallation, other)
	}
	if !strings.Contains(out.String(), "as the GitHub App "+app.ClientID+" (installation "+inst+")") {
		t.Errorf("output does not say how it authenticated:\n%s", out)
	}
	noSecrets(t, []string{key, strings.Split(key, "\n")[1]}, out.String())

	// The numeric app id, the key in base64 and the installation configured.
	f.cfg.GitHub.InstallationID = inst
	e2, out2 := f.env(t, "GITHUB_APP_ID="+strconv.FormatInt(app.ID, 10), "GITHUB_APP_PRIVATE_KEY="+base64.StdEncoding.EncodeToString(app.KeyPEM))
	before := len(f.gh.Requests())
	if _, _, err := Run(ctx(t), e2, ver, opts()); err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	for _, r := range f.gh.Requests()[before:] {
		if strings.HasSuffix(r.Path, "/installation") {
			t.Error("looked the installation up although it was configured")
		}
	}
}

// TestStaleInstallation: an installation id from before the App was
// installed again gets GitHub's 404 and its own message.
func TestStaleInstallation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app, err := f.gh.AddApp(repo)
	if err != nil {
		t.Fatal(err)
	}
	stale := app.Installation(repo)
	fresh := app.Reinstall(repo)
	key := string(app.KeyPEM)
	e, out := f.env(t, "GITHUB_APP_ID="+app.ClientID, "GITHUB_APP_PRIVATE_KEY="+key, "GITHUB_APP_INSTALLATION_ID="+strconv.FormatInt(stale, 10))
	_, _, err = Run(ctx(t), e, ver, opts())
	if err == nil {
		t.Fatal("a stale installation id worked")
	}
	for _, w := range []string{fmt.Sprintf("installation %d", stale), "was not found (404): a stale installation id", "GITHUB_APP_INSTALLATION_ID", "unset it to look it up"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	noSecrets(t, []string{key}, err.Error(), out.String())
	if fresh == stale {
		t.Fatal("reinstalling kept the id")
	}

	// A key that is not the App's: GitHub refuses the JWT (401).
	other, err := f.gh.AddApp()
	if err != nil {
		t.Fatal(err)
	}
	e, _ = f.env(t, "GITHUB_APP_ID="+app.ClientID, "GITHUB_APP_PRIVATE_KEY="+string(other.KeyPEM))
	if _, _, err := Run(ctx(t), e, ver, opts()); err == nil || !strings.Contains(err.Error(), "GitHub refused the App's JWT") || !strings.Contains(err.Error(), "401") {
		t.Errorf("another App's key: %v", err)
	}
	// Not a key at all: the message never quotes it.
	e, _ = f.env(t, "GITHUB_APP_ID="+app.ClientID, "GITHUB_APP_PRIVATE_KEY=not-a-key-but-a-secret")
	if _, _, err := Run(ctx(t), e, ver, opts()); err == nil || !strings.Contains(err.Error(), "not a GitHub App's RSA private key") || strings.Contains(err.Error(), "not-a-key-but-a-secret") {
		t.Errorf("a malformed key: %v", err)
	}
	// The App is not installed on the repository.
	e, _ = f.env(t, "GITHUB_APP_ID="+other.ClientID, "GITHUB_APP_PRIVATE_KEY="+string(other.KeyPEM))
	if _, _, err := Run(ctx(t), e, ver, opts()); err == nil || !strings.Contains(err.Error(), "is not installed on agent-facets/facets") {
		t.Errorf("an App not installed: %v", err)
	}
}

// TestValidationFailed: the 422 of a release that appeared meanwhile is
// the same release, updated; another 422 is GitHub's refusal, explained.
func TestValidationFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	token := f.gh.Token(repo)
	e, _ := f.env(t, "GITHUB_TOKEN="+token)
	gh := client(t, e)
	// Another run's release, which this run's lookups miss (a replica
	// behind), so that its create gets 422 already_exists.
	if _, _, err := gh.Repositories.CreateRelease(ctx(t), "agent-facets", "facets", ghCreate(tag, "the other run's")); err != nil {
		t.Fatal(err)
	}
	f.gh.Inject(localgithub.Fault{Method: "GET", PathContains: "/releases/tags/", Status: 404, Message: "Not Found"})
	f.gh.Inject(localgithub.Fault{Method: "GET", PathSuffix: "/facets/releases", Status: 200, Body: "[]"})
	e, out := f.env(t, "GITHUB_TOKEN="+token)
	_, recs, err := Run(ctx(t), e, ver, opts())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rel := f.release(t)
	f.assetsMatch(t, rel)
	if rel.Body == "the other run's" || recs[0].Action != outcome.Published || !strings.Contains(out.String(), "appeared meanwhile") {
		t.Errorf("release %+v, record %+v\n%s", rel, recs[0], out)
	}
	creates := 0
	for _, r := range f.gh.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/facets/releases") {
			creates++
			if creates == 2 && r.Status != 422 {
				t.Errorf("this run's create answered %d, want 422", r.Status)
			}
		}
	}
	if creates != 2 {
		t.Errorf("%d creates, want 2 (the other run's, then this run's 422)", creates)
	}

	g := newFixture(t)
	g.gh.Inject(localgithub.Fault{Method: "POST", PathSuffix: "/facets/releases", Status: 422,
		Body: `{"message":"Validation Failed","errors":[{"resource":"Release","code":"custom","field":"tag_name","message":"tag_name is not a valid tag"}],"status":"422"}`})
	e, _ = g.env(t, "GITHUB_TOKEN="+g.gh.Token(repo))
	_, _, err = Run(ctx(t), e, ver, opts())
	if err == nil || !strings.Contains(err.Error(), "GitHub refused the request (422 Validation Failed; Release tag_name custom tag_name is not a valid tag)") {
		t.Errorf("err = %v", err)
	}
}

// TestMissingTag: a tag not on GitHub is never created by a release.
func TestMissingTag(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e, _ := f.env(t, "GITHUB_TOKEN="+f.gh.Token(repo))
	f.madeFor(t, "1.2.4")
	_, _, err := Run(ctx(t), e, "1.2.4", opts())
	if err == nil || !strings.Contains(err.Error(), "the tag agent-facets@1.2.4 is not on agent-facets/facets: push it first") {
		t.Errorf("err = %v", err)
	}
	if len(f.gh.Releases(repo)) != 0 {
		t.Error("a release was created")
	}
}

// TestTransientFailures: a 502 on an upload is tried again; an upload that
// keeps failing leaves the release a draft, and the next run finishes it.
func TestTransientFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e, out := f.env(t, "GITHUB_TOKEN="+f.gh.Token(repo))
	f.gh.Inject(localgithub.Fault{Method: "POST", PathContains: "/api/uploads/", Status: 502, Message: "Bad Gateway"})
	if _, _, err := Run(ctx(t), e, ver, opts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "502 Bad Gateway") || !strings.Contains(out.String(), "trying again") {
		t.Errorf("no retry shown:\n%s", out)
	}
	f.assetsMatch(t, f.release(t))

	g := newFixture(t)
	e, out = g.env(t, "GITHUB_TOKEN="+g.gh.Token(repo))
	g.gh.Inject(localgithub.Fault{Method: "POST", PathContains: "/api/uploads/", Times: 3, Status: 503, Message: "Service Unavailable"})
	_, recs, err := Run(ctx(t), e, ver, opts())
	if err == nil || !strings.Contains(err.Error(), "lacks facet-darwin-arm64.tar.gz") || !strings.Contains(err.Error(), "run githubRelease again") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if rel := g.release(t); !rel.Draft || recs[0].Action != outcome.Failed {
		t.Errorf("after a failed upload the release is %+v, record %+v: it must stay a draft", rel, recs[0])
	}
	// checksums.txt never lists an archive the release lacks.
	for _, a := range g.release(t).Assets {
		if a.Name == "checksums.txt" {
			t.Error("checksums.txt was uploaded though an archive failed")
		}
	}
	if last := recs[len(recs)-1]; last.Package != "checksums.txt" || last.Action != outcome.Skipped {
		t.Errorf("the checksums record is %+v, want it held back", last)
	}
	again, out2 := toolkittest.Again(t, e)
	if _, _, err := Run(ctx(t), again, ver, opts()); err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	rel := g.release(t)
	if rel.Draft {
		t.Error("the re-run did not publish the draft")
	}
	g.assetsMatch(t, rel)
}

// client is a GitHub client for the fixture's repository, as the operation
// makes it, to act as someone else on the emulator.
func client(t *testing.T, e *toolkit.Env) *githubapi.Client {
	t.Helper()
	c, err := githubapi.New(ctx(t), e, githubapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ghCreate is a published release of tag with body, as made on the web.
func ghCreate(tag, body string) gogithub.CreateReleaseRequest {
	return gogithub.CreateReleaseRequest{TagName: tag, Name: gogithub.Ptr("by hand"), Body: gogithub.Ptr(body)}
}

// The notes come from the CLI's source package (agent-facets keeps its
// changelog in packages/cli), whatever that package is called.
func TestChangelogOfTheCLISource(t *testing.T) {
	root := t.TempDir()
	cfg := toolkittest.Config(t, func(c *config.Config) {
		c.Dir = root
		c.Adapters.Workspace = "."
		c.CLI.Source = "packages/cli"
		c.GitHub.Changelog = ""
	})
	want := filepath.Join(root, "packages", "cli", "CHANGELOG.md")
	if got := ChangelogPath(cfg); got != want {
		t.Errorf("ChangelogPath = %s, want %s", got, want)
	}
	cfg.GitHub.Changelog = "docs/CHANGES.md"
	if got, want := ChangelogPath(cfg), filepath.Join(root, "docs", "CHANGES.md"); got != want {
		t.Errorf("with github.changelog: ChangelogPath = %s, want %s", got, want)
	}
	cfg.GitHub.Changelog, cfg.CLI.Source = "", ""
	if got, want := ChangelogPath(cfg), filepath.Join(root, "CHANGELOG.md"); got != want {
		t.Errorf("without cli.source: ChangelogPath = %s, want %s", got, want)
	}
}

// TestAssetsOfAnotherVersion: archives made from another version's binaries
// (their names carry no version) never reach this version's release.
func TestAssetsOfAnotherVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "agent-facets@1.2.4")
	e, _ := f.env(t, "GITHUB_TOKEN="+f.gh.Token(repo))
	_, _, err := Run(ctx(t), e, "1.2.4", opts())
	if err == nil || !strings.Contains(err.Error(), "hold the binaries of 1.2.3, not 1.2.4") || !strings.Contains(err.Error(), "releaseAssets -version=1.2.4") {
		t.Errorf("err = %v", err)
	}
	os.Remove(filepath.Join(f.cfg.AssetsDir(), releaseassets.VersionFile))
	if _, _, err := Run(ctx(t), e, "1.2.4", opts()); err == nil || !strings.Contains(err.Error(), "holds no archives made for 1.2.4") {
		t.Errorf("without the version file: %v", err)
	}
	if n := len(f.gh.Releases(repo)); n != 0 {
		t.Errorf("%d releases created", n)
	}
}

// TestNameTakenButNotListed: an upload refused as "already_exists" while
// the asset list lacks it is compared once more, then reported, not
// retried forever.
func TestNameTakenButNotListed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.gh.Inject(localgithub.Fault{Method: "POST", PathContains: "/api/uploads/", Status: 422, Times: 1000,
		Body: `{"message":"Validation Failed","errors":[{"resource":"ReleaseAsset","code":"already_exists","field":"name"}]}`})
	e, _ := f.env(t, "GITHUB_TOKEN="+f.gh.Token(repo))
	_, recs, err := Run(ctx(t), e, ver, opts())
	if err == nil || recs[1].Action != outcome.Failed || !strings.Contains(recs[1].Error, "exists but does not list it; run githubRelease again") {
		t.Fatalf("err = %v, records %+v", err, recs)
	}
	uploads := 0
	for _, r := range f.gh.Requests() {
		if r.Method == "POST" && strings.Contains(r.Path, "/api/uploads/") {
			uploads++
		}
	}
	if want := 2 * (len(f.files) - 1); uploads != want { // each archive twice; checksums.txt held back
		t.Errorf("%d uploads, want %d", uploads, want)
	}
}
