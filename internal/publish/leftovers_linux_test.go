//go:build linux

package publish_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

// processesWith returns the processes whose environment holds entry.
func processesWith(t *testing.T, entry string) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == entry {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// TestKilledToolkitLeavesNoNpmWithAToken: a publishing job killed with
// SIGKILL while npm publishes (an ID token in npm's environment) takes npm
// with it: the kernel ends npm when the toolkit dies (a parent-death
// signal), so no process holding the token outlives it, and the publish
// never lands.
func TestKilledToolkitLeavesNoNpmWithAToken(t *testing.T) {
	t.Parallel()
	reg, e, _ := oidcRelease(t, goodClaims)
	claims := goodClaims(e.Cfg.TrustedPublisher)
	claims["aud"] = reg.Audience()
	token := reg.Issuer.Mint(claims)
	name := "@agent-facets/cli-linux-arm64"
	// npm's PUT is held until the client goes away.
	reg.Inject(localregistry.Fault{Method: "PUT", Package: name, Delay: time.Hour})
	mark := reg.Mark()
	svc := startHelper(t, e.Cfg, append(append([]string(nil), e.Facts.Environ...), "NPM_ID_TOKEN="+token), "publish", "linux-arm64", ver)
	if _, _, err := reg.Await(deadline(t), mark, func(r localregistry.Request) bool { return r.Method == "PUT" && r.InFlight }); err != nil {
		t.Fatalf("npm's PUT never came: %v", err)
	}
	var npm []int
	for _, pid := range processesWith(t, "NPM_ID_TOKEN="+token) {
		if pid != svc.Pid() {
			npm = append(npm, pid)
		}
	}
	if len(npm) == 0 {
		t.Fatal("no npm process holds the token while it publishes: nothing to test")
	}
	var fds []int
	for _, pid := range npm {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("pidfd of %d: %v", pid, err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	if err := syscall.Kill(svc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-svc.Done()
	// Each npm ends: its pidfd becomes readable when it exits. The bound is
	// only for a failure, never waited through when all goes well.
	for i, fd := range fds {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int((2 * time.Minute).Milliseconds()))
		if err != nil || n != 1 {
			t.Errorf("npm (pid %d) outlived the killed toolkit: %v", npm[i], err)
		}
	}
	if left := processesWith(t, "NPM_ID_TOKEN="+token); len(left) > 0 {
		t.Errorf("processes still hold the token: %v", left)
	}
	// The registry sees npm's connection close while it holds the PUT.
	if _, _, err := reg.Await(deadline(t), mark, func(r localregistry.Request) bool { return r.Method == "PUT" && !r.InFlight }); err != nil {
		t.Fatal(err)
	}
	reg.NoWrites(t, mark)
	if reg.HasVersion(t, name, ver) {
		t.Error("the publish landed")
	}
}

// TestKilledPackLeavesATarballTheNextRunRemoves: a pack killed on the way
// leaves its temporary tarball in dist/npm; the next pack removes it, but
// never one that a pack still running is writing.
func TestKilledPackLeavesATarballTheNextRunRemoves(t *testing.T) {
	t.Parallel()
	cfg := toolkittest.DemoConfig(t, nil)
	toolkittest.BuildDemo(t, cfg, ver, buildAll)
	npmDir := filepath.Join(cfg.Path(cfg.Dist.Dir), "npm")
	if err := os.MkdirAll(npmDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A file far too big to pack before the helper is killed (sparse: it
	// takes no disk), and a watch on dist/npm for the temporary tarball.
	big := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	watch, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(watch)
	if _, err := unix.InotifyAddWatch(watch, npmDir, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	svc := startHelper(t, cfg, os.Environ(), "pack", "linux-x64", ver, big)
	created := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(watch, buf)
			if err != nil || n <= 0 {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if ok, _ := filepath.Match(".*.tgz.*.tmp", name); ok {
					created <- name
					return
				}
			}
		}
	}()
	select {
	case <-created:
	case <-svc.Done():
		t.Fatal("the helper ended before it packed")
	case <-deadline(t).Done():
		t.Fatal("the helper never started its tarball")
	}
	if err := syscall.Kill(svc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-svc.Done()
	left, _ := filepath.Glob(filepath.Join(npmDir, ".*.tgz.*.tmp"))
	if len(left) != 1 {
		t.Fatalf("the killed pack left %v, want its temporary tarball", left)
	}

	// A pack still running (it holds the directory's lock shared) keeps
	// its temporary file: another pack does not remove it...
	e, out := toolkittest.Env(t, cfg)
	live := holdPackLock(t, npmDir)
	arm, _ := platforms.Lookup("linux-arm64")
	if _, err := pack.Platform(e, arm, ver); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := os.Stat(left[0]); err != nil {
		t.Fatalf("a pack removed a temporary tarball while another pack was running: %v", err)
	}
	live()
	// ...but once nobody packs, the next pack removes what was left.
	if _, err := pack.Platform(e, arm, ver); err != nil {
		t.Fatal(err)
	}
	if still, _ := filepath.Glob(filepath.Join(npmDir, ".*.tgz.*.tmp")); len(still) > 0 {
		t.Errorf("the next run left %v", still)
	}
	if _, err := os.Stat(filepath.Join(npmDir, "agent-facets-cli-linux-arm64-1.2.3.tgz")); err != nil {
		t.Errorf("the next run's own tarball: %v", err)
	}
	toolkittest.NoLeaks(t, nil, []string{out.String()}, cfg.Path(cfg.Dist.Dir))
}

// holdPackLock holds the pack directory's lock as a running pack does, until
// the returned function is called.
func holdPackLock(t *testing.T, dir string) func() {
	t.Helper()
	lock := flock.New(filepath.Join(dir, ".pack.lock"))
	if err := lock.RLock(); err != nil {
		t.Fatal(err)
	}
	return func() { lock.Unlock() }
}
