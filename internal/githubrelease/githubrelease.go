// Package githubrelease creates, or brings up to date, the GitHub Release
// of a release tag: its notes are the version's section of the changelog,
// it is marked prerelease for a prerelease version, and it carries the
// standalone archives and the checksums file releaseAssets wrote. Every
// step asks GitHub first, so a re-run after any failure finishes the job
// and changes nothing that is already right: an existing release is
// updated, never created twice; an asset with the same bytes is left
// alone; one with other bytes is replaced.
//
// A new release is created as a draft, given its assets, then published,
// so that nobody (and no install script) sees it without its archives,
// and so that repositories with immutable releases accept the assets.
package githubrelease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v89/github"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/changelog"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/githubapi"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/releaseassets"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/internal/workspace"
)

// Options tune a run; the zero value is what the target uses.
type Options struct {
	API githubapi.Options
	// Retry is the pause before the second of three tries of a call GitHub
	// failed with a 5xx or did not answer (doubling after); default 2s.
	Retry time.Duration
}

// Result is the release as GitHub now holds it.
type Result struct {
	Tag string
	// URL is the release's page.
	URL string
	ID  int64
	// Notes says where the notes came from.
	Notes string
}

// file is one asset to upload.
type file struct {
	name, path, sha256 string
	size               int64
}

// Run creates or updates the GitHub Release of version v and uploads the
// assets. It returns one record for the release and one per asset.
func Run(ctx context.Context, e *toolkit.Env, v string, o Options) (*Result, []outcome.Record, error) {
	if _, err := version.Validate(v); err != nil {
		return nil, nil, err
	}
	tag := e.Cfg.Release.TagPrefix + v
	res := &Result{Tag: tag}
	archives, sumsPath, err := releaseassets.Read(e, v)
	if err != nil {
		return res, nil, err
	}
	var files []file
	for _, a := range archives {
		files = append(files, file{name: a.Name, path: a.Path, sha256: a.SHA256, size: a.Size})
	}
	size, sum, err := archive.SHA256File(sumsPath)
	if err != nil {
		return res, nil, err
	}
	files = append(files, file{name: filepath.Base(sumsPath), path: sumsPath, sha256: sum, size: size}) // last: when it is there, so are the archives

	body, from, found := Notes(e, v)
	res.Notes = from
	if !found {
		e.Out.Line(report.Warn, "%s: the notes say only %q", from, body)
	}

	c, err := githubapi.New(ctx, e, o.API)
	if err != nil {
		return res, nil, err
	}
	r := &run{e: e, c: c, retry: o.Retry}
	if r.retry == 0 {
		r.retry = 2 * time.Second
	}
	e.Out.Line(report.Wait, "GitHub Release %s on %s/%s (%s, as %s)", tag, c.Owner, c.Repo, c.API, c.Auth)

	if err := r.do(ctx, "read the repository", func(ctx context.Context) error {
		_, _, err := c.Repositories.Get(ctx, c.Owner, c.Repo)
		return err
	}); err != nil {
		return res, nil, r.explain("read the repository", err)
	}
	if err := r.do(ctx, "find the tag "+tag, func(ctx context.Context) error {
		_, _, err := c.Git.GetRef(ctx, c.Owner, c.Repo, "tags/"+tag)
		return err
	}); err != nil {
		if githubapi.IsNotFound(err) {
			return res, nil, fmt.Errorf("the tag %s is not on %s/%s: push it first (git push origin %s); githubRelease never creates a tag, GitHub would put it on the default branch", tag, c.Owner, c.Repo, tag)
		}
		return res, nil, r.explain("find the tag "+tag, err)
	}

	start := time.Now()
	relRec := outcome.Record{Package: "GitHub Release " + tag, Version: v}
	failRelease := func(err error) (*Result, []outcome.Record, error) {
		relRec.Action, relRec.Error, relRec.Duration = outcome.Failed, err.Error(), time.Since(start)
		return res, []outcome.Record{relRec}, err
	}
	want := github.RepositoryRelease{TagName: tag, Name: github.Ptr(tag), Body: github.Ptr(body), Prerelease: version.IsPrerelease(v)}
	rel, err := r.find(ctx, tag)
	if err != nil {
		return failRelease(err)
	}
	created := false
	if rel == nil {
		rel, err = r.create(ctx, want)
		if err != nil {
			return failRelease(err)
		}
		created = true
		e.Out.Line(report.Added, "created %s as a draft (%s)", tag, from)
	}
	res.ID = rel.GetID()

	var recs []outcome.Record
	var failed []string
	for i, f := range files {
		if i == len(files)-1 && len(failed) > 0 {
			// checksums.txt goes up only with every archive it lists.
			recs = append(recs, outcome.Record{Package: f.name, Version: v, Action: outcome.Skipped, Note: "held back: an archive failed"})
			continue
		}
		rec := r.asset(ctx, rel, f, v, true)
		recs = append(recs, rec)
		if rec.Action == outcome.Failed {
			failed = append(failed, f.name)
		}
	}

	// Notes, prerelease and publication: what differs from what is wanted.
	var changes []string
	upd := github.UpdateReleaseRequest{}
	if rel.GetName() != tag {
		upd.Name, changes = github.Ptr(tag), append(changes, "title")
	}
	if strings.TrimSpace(rel.GetBody()) != strings.TrimSpace(body) {
		upd.Body, changes = github.Ptr(body), append(changes, "notes")
	}
	if rel.Prerelease != want.Prerelease {
		upd.Prerelease, changes = github.Ptr(want.Prerelease), append(changes, "prerelease")
	}
	if rel.Draft && len(failed) == 0 {
		upd.Draft, changes = github.Ptr(false), append(changes, "published")
		if !want.Prerelease {
			// The latest release by version, not by date: a backport stays behind.
			upd.MakeLatest = github.Ptr("legacy")
		}
	}
	if len(changes) > 0 {
		err := r.do(ctx, "update "+tag, func(ctx context.Context) error {
			var err error
			rel, _, err = c.Repositories.UpdateRelease(ctx, c.Owner, c.Repo, rel.GetID(), upd)
			return err
		})
		if err != nil {
			return failRelease(r.explain("update the release "+tag, err))
		}
	}
	res.URL = rel.GetHTMLURL()
	relRec.Duration, relRec.Registry = time.Since(start), res.URL
	switch {
	case len(failed) > 0:
		relRec.Action, relRec.Note = outcome.Failed, "left a draft: not every asset is there"
		if !rel.Draft {
			relRec.Note = "not every asset is there"
		}
		relRec.Error = "assets failed: " + strings.Join(failed, ", ")
	case created:
		relRec.Action, relRec.Note = outcome.Published, "created"
	case len(changes) > 0:
		relRec.Action, relRec.Note = outcome.Published, "updated: "+strings.Join(changes, ", ")
	default:
		relRec.Action, relRec.Note = outcome.Identical, "up to date"
	}
	recs = append([]outcome.Record{relRec}, recs...)
	if len(failed) > 0 {
		return res, recs, fmt.Errorf("the GitHub Release %s lacks %s (see above): run githubRelease again; it uploads only what is missing or different", tag, strings.Join(failed, ", "))
	}
	switch relRec.Action {
	case outcome.Identical:
		e.Out.Line(report.Skipped, "%s is up to date: %s", tag, res.URL)
	default:
		e.Out.Line(report.Added, "%s %s: %s", tag, relRec.Note, res.URL)
	}
	return res, recs, nil
}

// Notes returns the release notes of version v: its section of the
// changelog (github.changelog, else CHANGELOG.md of the CLI's source
// package, else beside the configuration), where they came from, and
// whether the section was found; otherwise a one-line note.
func Notes(e *toolkit.Env, v string) (body, from string, found bool) {
	path := ChangelogPath(e.Cfg)
	from = path
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
			from = rel
		}
	}
	fallback := fmt.Sprintf("%s %s", e.Cfg.CLI.Package, v)
	data, err := os.ReadFile(path)
	if err != nil {
		return fallback, fmt.Sprintf("no changelog at %s", from), false
	}
	section, ok := changelog.Section(string(data), v)
	if !ok {
		return fallback, fmt.Sprintf("no section for %s in %s", v, from), false
	}
	if strings.TrimSpace(section) == "" {
		return fallback, fmt.Sprintf("the section for %s in %s is empty", v, from), false
	}
	return section, "notes from " + from, true
}

// ChangelogPath is the changelog whose section for the version becomes the
// release notes: github.changelog, else CHANGELOG.md of the CLI's source
// package (cli.source, else the workspace package named cli.package), else
// CHANGELOG.md beside the configuration.
func ChangelogPath(cfg *config.Config) string {
	if p := cfg.GitHub.Changelog; p != "" {
		return cfg.Path(p)
	}
	if dir := cfg.SourceDir(); dir != "" {
		return filepath.Join(dir, "CHANGELOG.md")
	}
	if ws := cfg.Adapters.Workspace; ws != "" {
		if pkgs, err := workspace.Discover(cfg.Path(ws)); err == nil {
			for _, p := range pkgs {
				if p.Name == cfg.CLI.Package {
					return filepath.Join(p.Dir, "CHANGELOG.md")
				}
			}
		}
	}
	return cfg.Path("CHANGELOG.md")
}

type run struct {
	e     *toolkit.Env
	c     *githubapi.Client
	retry time.Duration
}

// do runs call up to three times while GitHub fails with a 5xx or does not
// answer, each try with a deadline of its own.
func (r *run) do(ctx context.Context, what string, call func(ctx context.Context) error) error {
	pause := r.retry
	var err error
	for try := 1; ; try++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		err = call(cctx)
		cancel()
		if err == nil || !githubapi.Temporary(err) || try == 3 || ctx.Err() != nil {
			return err
		}
		status, msg := githubapi.Status(err)
		if status != 0 {
			msg = strconv.Itoa(status) + " " + msg
		}
		r.e.Out.Line(report.Warn, "%s: %s; trying again in %s", what, msg, pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause *= 2
	}
}

// explain wraps an API error with what was being done.
func (r *run) explain(what string, err error) error {
	return fmt.Errorf("%s on %s/%s: %w", what, r.c.Owner, r.c.Repo, githubapi.Explain(err))
}

// find returns the release of tag: the published one, else a draft (which
// the tag lookup does not return), else nil.
func (r *run) find(ctx context.Context, tag string) (*github.RepositoryRelease, error) {
	c := r.c
	var rel *github.RepositoryRelease
	err := r.do(ctx, "look up the release "+tag, func(ctx context.Context) error {
		var err error
		rel, _, err = c.Repositories.GetReleaseByTag(ctx, c.Owner, c.Repo, url.PathEscape(tag))
		return err
	})
	switch {
	case err == nil:
		return rel, nil
	case !githubapi.IsNotFound(err):
		return nil, r.explain("look up the release "+tag, err)
	}
	opt := &github.ListOptions{PerPage: 100}
	for page := 0; page < 10; page++ {
		var list []*github.RepositoryRelease
		var resp *github.Response
		err := r.do(ctx, "list releases", func(ctx context.Context) error {
			var err error
			list, resp, err = c.Repositories.ListReleases(ctx, c.Owner, c.Repo, opt)
			return err
		})
		if err != nil {
			return nil, r.explain("list the releases", err)
		}
		for _, x := range list {
			if x.TagName == tag {
				return x, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return nil, nil
}

// create makes the draft; when another run made it first (422
// already_exists), it returns that one.
func (r *run) create(ctx context.Context, want github.RepositoryRelease) (*github.RepositoryRelease, error) {
	c := r.c
	var rel *github.RepositoryRelease
	err := r.do(ctx, "create the release "+want.TagName, func(ctx context.Context) error {
		var err error
		rel, _, err = c.Repositories.CreateRelease(ctx, c.Owner, c.Repo, github.CreateReleaseRequest{
			TagName: want.TagName, Name: want.Name, Body: want.Body,
			Draft: github.Ptr(true), Prerelease: github.Ptr(want.Prerelease),
		})
		return err
	})
	if githubapi.HasCode(err, "tag_name", "already_exists") {
		r.e.Out.Line(report.Info, "a release of %s appeared meanwhile: updating it", want.TagName)
		found, ferr := r.find(ctx, want.TagName)
		if ferr != nil {
			return nil, ferr
		}
		if found != nil {
			return found, nil
		}
	}
	if err != nil {
		return nil, r.explain("create the release "+want.TagName, err)
	}
	return rel, nil
}

// partial is the suffix of an upload that replaces an asset: it goes up
// under another name, then takes the name once the old asset is deleted.
const partial = ".partial"

// asset makes the release's asset f.name hold f's bytes: left alone when it
// does, uploaded when missing, replaced when its bytes differ or its upload
// never finished. With again, an upload that finds the name taken (another
// run uploaded it meanwhile) compares once more.
func (r *run) asset(ctx context.Context, rel *github.RepositoryRelease, f file, v string, again bool) outcome.Record {
	start := time.Now()
	rec := outcome.Record{Package: f.name, Version: v, Integrity: "sha256:" + f.sha256}
	fail := func(err error) outcome.Record {
		rec.Action, rec.Error, rec.Duration = outcome.Failed, err.Error(), time.Since(start)
		r.e.Out.Line(report.Failed, "%s: %v", f.name, err)
		return rec
	}
	assets, err := r.assets(ctx, rel.GetID())
	if err != nil {
		return fail(err)
	}
	// What a replacement cut short left behind.
	if stale := assets[f.name+partial]; stale != nil {
		if err := r.delete(ctx, stale); err != nil {
			return fail(err)
		}
	}
	old := assets[f.name]
	if old != nil && old.GetState() == "uploaded" {
		same, err := r.same(ctx, old, f)
		if err != nil {
			return fail(err)
		}
		if same {
			rec.Action, rec.Note, rec.Duration = outcome.Identical, "already uploaded", time.Since(start)
			r.e.Out.Line(report.Skipped, "%s already on the release, identical (sha256 %s…)", f.name, f.sha256[:12])
			return rec
		}
	}
	if old == nil {
		up, err := r.upload(ctx, rel.GetID(), f, f.name)
		if githubapi.HasCode(err, "name", "already_exists") {
			if again {
				// Another run uploaded it meanwhile: compare again, once.
				return r.asset(ctx, rel, f, v, false)
			}
			return fail(fmt.Errorf("%s: GitHub says an asset of that name exists but does not list it; run githubRelease again", f.name))
		}
		if err != nil {
			return fail(err)
		}
		if err := r.check(ctx, up, f); err != nil {
			return fail(err)
		}
		rec.Action, rec.Note, rec.Duration = outcome.Published, "uploaded", time.Since(start)
		r.e.Out.Line(report.Added, "%s uploaded (%.1f MB, sha256 %s…, GitHub's digest matches)", f.name, float64(f.size)/(1<<20), f.sha256[:12])
		return rec
	}

	why := "GitHub held other bytes (" + old.GetDigest() + ")"
	if old.GetState() != "uploaded" {
		why = "its upload never finished (state " + old.GetState() + ")"
	}
	up, err := r.upload(ctx, rel.GetID(), f, f.name+partial)
	if err != nil {
		return fail(err)
	}
	if err := r.check(ctx, up, f); err != nil {
		return fail(err)
	}
	if err := r.delete(ctx, old); err != nil {
		return fail(err)
	}
	err = r.do(ctx, "rename "+up.GetName(), func(ctx context.Context) error {
		var err error
		up, _, err = r.c.Repositories.UpdateReleaseAsset(ctx, r.c.Owner, r.c.Repo, up.GetID(), github.UpdateReleaseAssetRequest{Name: github.Ptr(f.name)})
		return err
	})
	if err != nil {
		return fail(r.explain("rename "+f.name+partial+" to "+f.name, err))
	}
	rec.Action, rec.Note, rec.Duration = outcome.Published, "replaced: "+why, time.Since(start)
	r.e.Out.Line(report.Added, "%s replaced: %s", f.name, why)
	return rec
}

// assets lists the release's assets by name.
func (r *run) assets(ctx context.Context, id int64) (map[string]*github.ReleaseAsset, error) {
	out := map[string]*github.ReleaseAsset{}
	opt := &github.ListOptions{PerPage: 100}
	for {
		var list []*github.ReleaseAsset
		var resp *github.Response
		err := r.do(ctx, "list the release's assets", func(ctx context.Context) error {
			var err error
			list, resp, err = r.c.Repositories.ListReleaseAssets(ctx, r.c.Owner, r.c.Repo, id, opt)
			return err
		})
		if err != nil {
			return nil, r.explain("list the release's assets", err)
		}
		for _, a := range list {
			out[a.GetName()] = a
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// same reports whether the asset holds f's bytes: by GitHub's digest, or,
// for an asset without one, by downloading and hashing it.
func (r *run) same(ctx context.Context, a *github.ReleaseAsset, f file) (bool, error) {
	if int64(a.GetSize()) != f.size {
		return false, nil
	}
	if d := a.GetDigest(); d != "" {
		return d == "sha256:"+f.sha256, nil
	}
	sum, err := r.download(ctx, a)
	if err != nil {
		return false, err
	}
	return sum == f.sha256, nil
}

// check compares an uploaded asset with f: its size, and its digest (or
// its bytes, downloaded, when GitHub gives no digest).
func (r *run) check(ctx context.Context, a *github.ReleaseAsset, f file) error {
	if int64(a.GetSize()) != f.size {
		return fmt.Errorf("GitHub holds %d bytes of %s after the upload, not %d: run githubRelease again", a.GetSize(), f.name, f.size)
	}
	d := a.GetDigest()
	if d == "" {
		sum, err := r.download(ctx, a)
		if err != nil {
			return err
		}
		d = "sha256:" + sum
	}
	if d != "sha256:"+f.sha256 {
		return fmt.Errorf("GitHub's digest of %s after the upload is %s, not sha256:%s: the upload was damaged; run githubRelease again", f.name, d, f.sha256)
	}
	return nil
}

func (r *run) download(ctx context.Context, a *github.ReleaseAsset) (string, error) {
	var sum string
	err := r.do(ctx, "download "+a.GetName(), func(ctx context.Context) error {
		rc, _, err := r.c.Repositories.DownloadReleaseAsset(ctx, r.c.Owner, r.c.Repo, a.GetID(), http.DefaultClient)
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			return err
		}
		sum = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return "", r.explain("download "+a.GetName()+" to compare it", err)
	}
	return sum, nil
}

func (r *run) upload(ctx context.Context, id int64, f file, name string) (*github.ReleaseAsset, error) {
	var up *github.ReleaseAsset
	err := r.do(ctx, "upload "+name, func(ctx context.Context) error {
		fh, err := os.Open(f.path)
		if err != nil {
			return err
		}
		defer fh.Close()
		up, _, err = r.c.Repositories.UploadReleaseAsset(ctx, r.c.Owner, r.c.Repo, id, &github.UploadOptions{Name: name, MediaType: mediaType(f.name)}, fh)
		return err
	})
	var pe *os.PathError
	switch {
	case err == nil:
		return up, nil
	case errors.As(err, &pe):
		return nil, err
	case githubapi.HasCode(err, "name", "already_exists"):
		return nil, err
	}
	return nil, r.explain("upload "+name, err)
}

func (r *run) delete(ctx context.Context, a *github.ReleaseAsset) error {
	err := r.do(ctx, "delete "+a.GetName(), func(ctx context.Context) error {
		_, err := r.c.Repositories.DeleteReleaseAsset(ctx, r.c.Owner, r.c.Repo, a.GetID())
		if githubapi.IsNotFound(err) {
			return nil // gone already
		}
		return err
	})
	if err != nil {
		return r.explain("delete the old "+a.GetName(), err)
	}
	return nil
}

func mediaType(name string) string {
	switch {
	case strings.HasSuffix(name, ".tar.gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".zip"):
		return "application/zip"
	case strings.HasSuffix(name, ".txt"):
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
