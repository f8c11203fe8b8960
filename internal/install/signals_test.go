//go:build linux

package install_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// counterSource is the stand-in binary of the signal tests: it prints
// "got SIGNAME" for every signal it receives, "ready" once it listens, and
// exits 0 at the end of stdin.
const counterSource = `package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 64)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	names := map[os.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP",
		syscall.SIGQUIT: "SIGQUIT", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2"}
	fmt.Println("ready")
	go func() {
		io.Copy(io.Discard, os.Stdin)
		fmt.Println("eof")
		os.Exit(0)
	}()
	for s := range c {
		fmt.Println("got", names[s])
	}
}
`

// buildCounter compiles the stand-in for this machine.
func buildCounter(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module counter\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(counterSource), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", "counter", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the signal counter: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// session is one run of the installed launcher with the counter as its
// binary, its stdout (the counter's) and stderr (the launcher's debug lines)
// read line by line.
type session struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  *os.File // nil when stdin is the terminal
	pty    *os.File // the terminal's master side, or nil
	out    chan string
	errs   chan string
	got    map[string]int
	stderr []string
}

func lineReader(f *os.File, ch chan<- string) {
	s := bufio.NewScanner(f)
	for s.Scan() {
		ch <- s.Text()
	}
	close(ch)
	f.Close()
}

// start runs the launcher in a new session: without a controlling terminal,
// or with a new pseudo-terminal as its controlling terminal (the launcher
// then leads the terminal's foreground process group, as a shell's
// foreground job does), with stdin on that terminal or on a pipe.
func start(t *testing.T, project string, terminal, stdinTerminal bool) *session {
	t.Helper()
	s := &session{t: t, out: make(chan string, 64), errs: make(chan string, 64), got: map[string]int{}}
	cmd := exec.Command(filepath.Join(project, "node_modules", ".bin", shared.cfg.CLI.Binary))
	cmd.Dir = project
	cmd.Env = append(append(os.Environ(), shared.npm...), launcherManifest().EnvDebug+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	var closeAfterStart []*os.File
	closeAfterStart = append(closeAfterStart, outW, errW)
	if terminal {
		master, slave := openPTY(t)
		s.pty = master
		closeAfterStart = append(closeAfterStart, slave)
		cmd.SysProcAttr.Setctty = true
		if stdinTerminal {
			cmd.Stdin = slave
			cmd.SysProcAttr.Ctty = 0
		} else {
			cmd.ExtraFiles = []*os.File{slave}
			cmd.SysProcAttr.Ctty = 3
		}
	}
	if cmd.Stdin == nil {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = r
		s.stdin = w
		closeAfterStart = append(closeAfterStart, r)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	s.cmd = cmd
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if s.pty != nil {
			s.pty.Close()
		}
		if s.stdin != nil {
			s.stdin.Close()
		}
	})
	go lineReader(outR, s.out)
	go lineReader(errR, s.errs)
	if line := s.next(); line != "ready" {
		t.Fatalf("the counter printed %q, want ready; launcher stderr:\n%s", line, strings.Join(s.drainErrs(), "\n"))
	}
	return s
}

// openPTY opens a new pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, sl
}

// next is the counter's next line; a "got" line is counted.
func (s *session) next() string {
	s.t.Helper()
	line, ok := <-s.out
	if !ok {
		s.t.Fatalf("the counter's output ended; launcher stderr:\n%s", strings.Join(s.drainErrs(), "\n"))
	}
	if sig, ok := strings.CutPrefix(line, "got "); ok {
		s.got[sig]++
	}
	return line
}

// expectGot waits for the counter to report sig.
func (s *session) expectGot(sig string) {
	s.t.Helper()
	if line := s.next(); line != "got "+sig {
		s.t.Fatalf("the counter printed %q, want it to receive %s", line, sig)
	}
}

func (s *session) drainErrs() []string {
	s.stopAndClose()
	for l := range s.errs {
		s.stderr = append(s.stderr, l)
	}
	return s.stderr
}

func (s *session) stopAndClose() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
}

// decision waits for the launcher's debug line about sig and reports
// whether it forwarded it.
func (s *session) decision(sig string) bool {
	s.t.Helper()
	prefix := cli() + ": " + sig + " "
	for {
		line, ok := <-s.errs
		if !ok {
			s.t.Fatalf("the launcher's stderr ended before it decided about %s:\n%s", sig, strings.Join(s.stderr, "\n"))
		}
		s.stderr = append(s.stderr, line)
		if strings.Contains(line, "Debugger listening") {
			s.t.Fatalf("%s opened Node's inspector instead of reaching the binary:\n%s", sig, strings.Join(s.stderr, "\n"))
		}
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.HasPrefix(rest, "forwarded to ")
		}
	}
}

// pause stops the launcher (SIGSTOP to its pid alone) and waits until it is
// stopped, so that a signal sent to its process group reaches the counter
// first and the launcher handles its own copy after.
func (s *session) pause() {
	s.t.Helper()
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		s.t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil); err != nil || !ws.Stopped() {
		s.t.Fatalf("wait for the launcher to stop: %v (status %v)", err, ws)
	}
}

func (s *session) resume() {
	s.t.Helper()
	if err := syscall.Kill(s.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		s.t.Fatal(err)
	}
}

// finish ends the counter's stdin, waits for the launcher to exit and
// returns what the counter received and the launcher printed.
func (s *session) finish() (map[string]int, []string) {
	s.t.Helper()
	if s.stdin != nil {
		s.stdin.Close()
		s.stdin = nil
	} else if _, err := s.pty.Write([]byte{4}); err != nil { // ^D: end of input
		s.t.Fatal(err)
	}
	for {
		line := s.next()
		if line == "eof" {
			break
		}
	}
	for l := range s.errs {
		s.stderr = append(s.stderr, l)
	}
	if err := s.cmd.Wait(); err != nil {
		s.t.Fatalf("the launcher did not exit 0 with the counter: %v\n%s", err, strings.Join(s.stderr, "\n"))
	}
	return s.got, s.stderr
}

// TestSignals counts how often the binary receives a signal sent to the
// launcher's process group, to the launcher's pid alone, and typed as Ctrl-C
// on a terminal, with stdin the terminal or redirected. Node cannot tell
// who sent a signal, so the launcher decides by where it runs (see
// bin/facet.js): in the foreground of a terminal it leaves SIGINT, SIGQUIT
// and SIGHUP to the terminal, elsewhere it forwards everything. The
// expected counts are that documented choice, both sides of it.
func TestSignals(t *testing.T) {
	t.Parallel()
	h := host(t)
	project := npmInstall(t)
	counter := buildCounter(t)
	preferred := h.Candidates()[0]
	dir, ok := installed(t, project)[platformPackage(preferred.Name)]
	if !ok {
		t.Fatalf("%s is not installed", platformPackage(preferred.Name))
	}
	bin := filepath.Join(dir, "bin", preferred.BinaryName(shared.cfg.CLI.Binary))
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, counter, 0o755); err != nil {
		t.Fatal(err)
	}

	type send int
	const (
		toGroup send = iota // kill -- -PGID: the launcher and the binary
		toPid               // kill PID: the launcher alone
		ctrlC               // ^C typed on the terminal
	)
	tests := []struct {
		name          string
		terminal      bool // a controlling terminal, the launcher in its foreground
		stdinTerminal bool
		how           send
		sig           syscall.Signal
		want          int // times the binary receives it
	}{
		// Without a terminal every signal is forwarded: once when sent to
		// the launcher, twice when sent to the whole group.
		{"no terminal, group SIGTERM", false, false, toGroup, syscall.SIGTERM, 2},
		{"no terminal, group SIGINT", false, false, toGroup, syscall.SIGINT, 2},
		{"no terminal, group SIGHUP", false, false, toGroup, syscall.SIGHUP, 2},
		{"no terminal, pid SIGTERM", false, false, toPid, syscall.SIGTERM, 1},
		{"no terminal, pid SIGINT", false, false, toPid, syscall.SIGINT, 1},
		{"no terminal, pid SIGHUP", false, false, toPid, syscall.SIGHUP, 1},
		{"no terminal, pid SIGQUIT", false, false, toPid, syscall.SIGQUIT, 1},
		{"no terminal, pid SIGUSR1", false, false, toPid, syscall.SIGUSR1, 1},
		{"no terminal, pid SIGUSR2", false, false, toPid, syscall.SIGUSR2, 1},
		// In a terminal's foreground: Ctrl-C reaches the binary once,
		// whether stdin is the terminal or redirected; SIGTERM is
		// forwarded; SIGINT and SIGHUP are left to the terminal, so sent
		// to the launcher's pid alone they do not reach the binary.
		{"terminal, Ctrl-C, stdin the terminal", true, true, ctrlC, syscall.SIGINT, 1},
		{"terminal, Ctrl-C, stdin redirected", true, false, ctrlC, syscall.SIGINT, 1},
		{"terminal, group SIGINT", true, true, toGroup, syscall.SIGINT, 1},
		{"terminal, group SIGHUP", true, false, toGroup, syscall.SIGHUP, 1},
		{"terminal, group SIGTERM", true, true, toGroup, syscall.SIGTERM, 2},
		{"terminal, pid SIGTERM", true, true, toPid, syscall.SIGTERM, 1},
		{"terminal, pid SIGUSR1", true, false, toPid, syscall.SIGUSR1, 1},
		{"terminal, pid SIGINT", true, true, toPid, syscall.SIGINT, 0},
		{"terminal, pid SIGHUP", true, false, toPid, syscall.SIGHUP, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, project, tt.terminal, tt.stdinTerminal)
			name := unix.SignalName(tt.sig)
			pid := s.cmd.Process.Pid
			switch tt.how {
			case toGroup, ctrlC:
				s.pause()
				if tt.how == ctrlC {
					if _, err := s.pty.Write([]byte{3}); err != nil {
						t.Fatal(err)
					}
				} else if err := syscall.Kill(-pid, tt.sig); err != nil {
					t.Fatal(err)
				}
				s.expectGot(name)
				s.resume()
			case toPid:
				if err := syscall.Kill(pid, tt.sig); err != nil {
					t.Fatal(err)
				}
			}
			if s.decision(name) {
				s.expectGot(name)
			}
			got, stderr := s.finish()
			if got[name] != tt.want || len(got) > 1 || (len(got) == 1 && tt.want == 0) {
				t.Errorf("the binary received %v, want %s %d time(s)\nlauncher stderr:\n%s", got, name, tt.want, strings.Join(stderr, "\n"))
			}
			for _, l := range stderr {
				if strings.Contains(l, "Debugger listening") {
					t.Errorf("%s opened Node's inspector:\n%s", name, strings.Join(stderr, "\n"))
				}
			}
		})
	}
}
