//go:build unix

package command

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// group is how a started program (and what it starts) is ended.
type group struct {
	cmd *exec.Cmd
	own bool
}

// prepare gives cmd its own process group when own is set, and asks the
// kernel to kill it if the toolkit dies first where the kernel can (Linux).
func prepare(cmd *exec.Cmd, own bool) *group {
	attr := &syscall.SysProcAttr{Setpgid: own}
	setDeathSignal(attr)
	cmd.SysProcAttr = attr
	return &group{cmd: cmd, own: own}
}

func (g *group) started() {}
func (g *group) release() {}

// kill ends the program and, when it has its own group, everything in it.
func (g *group) kill() error {
	p := g.cmd.Process
	if p == nil {
		return nil
	}
	if g.own {
		if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err == nil || !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return p.Kill()
}

// signalOf names the signal that ended a program, or "" if it exited.
func signalOf(ps *os.ProcessState) string {
	if ps == nil {
		return ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}

// maxRSS is the peak resident set size of a finished program, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * rssUnit
	}
	return 0
}
