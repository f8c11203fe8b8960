package command

import (
	"io"
	"os/exec"
)

// Service is a program running in the background, such as a local
// registry: in its own process group, ended with everything it started by
// Stop, and (where the OS can arrange it) when the toolkit dies.
type Service struct {
	cmd  *exec.Cmd
	g    *group
	done chan struct{}
	err  error
}

// Start starts c in the background with its standard output and standard
// error going to out.
func (r *Runner) Start(c Cmd, out io.Writer) (*Service, error) {
	e := &Error{Cmd: c.String()}
	path, err := r.LookPath(c.Name)
	if err != nil {
		e.NotFound, e.Start = true, err
		return nil, e
	}
	cmd := exec.Command(path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = Merge(r.Environ, c.Env)
	cmd.Stdin = c.Stdin
	cmd.Stdout, cmd.Stderr = out, out
	g := prepare(cmd, true)
	if err := cmd.Start(); err != nil {
		e.Start = err
		return nil, e
	}
	g.started()
	s := &Service{cmd: cmd, g: g, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// Pid is the service's process id.
func (s *Service) Pid() int { return s.cmd.Process.Pid }

// Done is closed when the service has exited.
func (s *Service) Done() <-chan struct{} { return s.done }

// Stop kills the service and everything it started, and waits until it
// has exited. It may be called more than once.
func (s *Service) Stop() {
	_ = s.g.kill() // also what it left running, when it has exited already
	<-s.done
	s.g.release()
}
