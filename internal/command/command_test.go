//go:build unix

package command

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// script writes an executable shell script into dir and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOutputAndPipelineStages(t *testing.T) {
	t.Parallel()
	r := &Runner{Environ: os.Environ()}
	out, err := r.Pipe(context.Background(), Cmd{Name: "printf", Args: []string{"a\nerror: one\nb\nerror: two\n"}}).Match("error").Last(1).String()
	if err != nil || out != "error: two\n" {
		t.Fatalf("%q, %v", out, err)
	}
	out, err = r.Output(context.Background(), Cmd{Name: "pwd", Dir: "/"})
	if err != nil || strings.TrimSpace(out) != "/" {
		t.Fatalf("Dir: %q, %v", out, err)
	}
}

func TestEnvironmentIsTheRunnersOwn(t *testing.T) {
	t.Parallel()
	r := &Runner{Environ: []string{"PATH=" + os.Getenv("PATH"), "A=runner", "B=runner"}}
	out, err := r.Output(context.Background(), Cmd{Name: "sh", Args: []string{"-c", `echo "$A $B ${HOME:-nohome}"`}, Env: []string{"B=call"}})
	if err != nil || out != "runner call nohome\n" {
		t.Fatalf("%q, %v", out, err)
	}
}

func TestLookPathUsesTheRunnersPATH(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := writeScript(t, dir, "circleci", "echo stand-in\n")
	if err := os.WriteFile(filepath.Join(dir, "notexec"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Environ: []string{"PATH=" + dir}}
	if got, err := r.LookPath("circleci"); err != nil || got != p {
		t.Fatalf("LookPath = %q, %v", got, err)
	}
	if _, err := r.LookPath("notexec"); err == nil {
		t.Error("a file without an execute bit was found")
	}
	_, err := r.Output(context.Background(), Cmd{Name: "npm"})
	ce, ok := AsError(err)
	if !ok || !ce.NotFound || !strings.Contains(err.Error(), "npm is not installed (not found on PATH)") {
		t.Fatalf("missing program: %v", err)
	}
}

func TestErrorsSayWhatFailed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := &Runner{Environ: []string{"PATH=" + dir + ":" + os.Getenv("PATH")}}
	writeScript(t, dir, "fails", "echo progress\necho 'first problem' >&2\necho 'the real problem' >&2\necho >&2\nexit 3\n")
	_, err := r.Output(context.Background(), Cmd{Name: "fails", Args: []string{"--otp=123456", "two words"}})
	ce, ok := AsError(err)
	if !ok || ce.Exit != 3 || ce.Useful() != "the real problem" {
		t.Fatalf("%#v", err)
	}
	if want := "`fails --otp=[redacted] \"two words\"` failed (exit 3): the real problem"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	writeScript(t, dir, "killed", "kill -TERM $$\n")
	_, err = r.Output(context.Background(), Cmd{Name: "killed"})
	if ce, ok := AsError(err); !ok || ce.Signal != "terminated" || !strings.Contains(err.Error(), "was ended by a signal (terminated)") {
		t.Errorf("killed: %v", err)
	}
	writeScript(t, dir, "leaks", "echo 'token npm_abcdefghijklmnopqrstuvwxyz0123456789 refused' >&2\nexit 1\n")
	_, err = r.Output(context.Background(), Cmd{Name: "leaks"})
	if strings.Contains(err.Error(), "npm_abcdef") {
		t.Errorf("a token in stderr reached the error: %v", err)
	}
}

// TestCancelEndsTheWholeGroup: cancelling a command kills what it started
// too (its process group), so nothing outlives the toolkit's run.
func TestCancelEndsTheWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := &Runner{Environ: []string{"PATH=" + dir + ":" + os.Getenv("PATH")}}
	// The child holds no pipe of ours, so only the group kill ends it.
	writeScript(t, dir, "parent", "sleep 300 >/dev/null 2>&1 </dev/null &\necho $!\nwait\n")
	ctx, cancel := context.WithCancel(context.Background())
	lines := newLines()
	done := make(chan error, 1)
	go func() {
		_, err := r.Output(ctx, Cmd{Name: "parent", Output: lines})
		done <- err
	}()
	var pid int
	select { // the script prints the child's pid once the child runs
	case line := <-lines.c:
		pid = atoi(line)
	case err := <-done:
		t.Fatalf("the parent ended early: %v", err)
	}
	cancel()
	err := <-done
	if ce, ok := AsError(err); !ok || !errors.Is(ce.Canceled, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if !gone(pid) {
		t.Errorf("the child %d outlived the cancelled command", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	r := &Runner{Environ: os.Environ()}
	var u Usage
	if _, err := r.Output(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"}, Usage: &u}); err != nil {
		t.Fatal(err)
	}
	if u.Wall <= 0 || u.CPU <= 0 || u.MaxRSS <= 0 {
		t.Errorf("usage %+v", u)
	}
}

func TestMergeAndLookup(t *testing.T) {
	t.Parallel()
	env := Merge([]string{"A=1", "B=2", "A=3"}, []string{"B=4", "C=5"})
	if strings.Join(env, " ") != "A=3 B=4 C=5" {
		t.Errorf("Merge = %v", env)
	}
	if v, ok := Lookup([]string{"X=", "Y=1"}, "X"); !ok || v != "" {
		t.Errorf("Lookup of an empty value: %q %v", v, ok)
	}
	if _, ok := Lookup(nil, "X"); ok {
		t.Error("Lookup of an unset variable")
	}
}

func TestServiceStopEndsEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := &Runner{Environ: []string{"PATH=" + dir + ":" + os.Getenv("PATH")}}
	writeScript(t, dir, "daemon", "sleep 300 &\necho $!\nwait\n")
	lines := newLines()
	s, err := r.Start(Cmd{Name: "daemon"}, lines)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	select {
	case line := <-lines.c:
		child = atoi(line)
	case <-s.Done():
		t.Fatal("the service ended early")
	}
	s.Stop()
	s.Stop() // twice is fine
	select {
	case <-s.Done():
	default:
		t.Fatal("Stop returned before the service ended")
	}
	if !gone(child) {
		t.Errorf("the service's child %d outlived Stop", child)
		syscall.Kill(child, syscall.SIGKILL)
	}
}
