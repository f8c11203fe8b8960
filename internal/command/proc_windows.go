package command

import (
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// group is how a started program (and what it starts) is ended: on Windows,
// a job object that kills every process in it when it is closed, which
// also happens when the toolkit dies.
type group struct {
	cmd *exec.Cmd
	own bool
	job windows.Handle
}

func prepare(cmd *exec.Cmd, own bool) *group {
	g := &group{cmd: cmd, own: own}
	if own {
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
	}
	return g
}

// started puts the program into a kill-on-close job.
func (g *group) started() {
	if !g.own || g.cmd.Process == nil {
		return
	}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation, uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(g.cmd.Process.Pid))
	if err != nil {
		windows.CloseHandle(job)
		return
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return
	}
	g.job = job
}

func (g *group) release() {
	if g.job != 0 {
		windows.CloseHandle(g.job)
		g.job = 0
	}
}

func (g *group) kill() error {
	if g.job != 0 {
		return windows.TerminateJobObject(g.job, 1)
	}
	if g.cmd.Process != nil {
		return g.cmd.Process.Kill()
	}
	return nil
}

// signalOf is always "": Windows programs end with an exit code.
func signalOf(*os.ProcessState) string { return "" }

// maxRSS is 0: Windows reports a program's peak memory only while its
// process handle is open, which os/exec has closed by now.
func maxRSS(*os.ProcessState) int64 { return 0 }

// DieWithParent does nothing on Windows: a parent's job object, when it
// has one, ends its children.
func DieWithParent() {}
