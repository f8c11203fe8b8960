//go:build unix && !linux

package command

import (
	"runtime"
	"syscall"
)

// setDeathSignal does nothing: macOS and the BSDs have no parent-death
// signal. A program the toolkit started ends with it only when it is
// cancelled (the toolkit's own Ctrl-C handling kills its process group).
func setDeathSignal(*syscall.SysProcAttr) {}

// rssUnit is the unit of ru_maxrss: bytes on macOS, kilobytes on the BSDs.
var rssUnit = map[bool]int64{true: 1, false: 1024}[runtime.GOOS == "darwin"]

// DieWithParent does nothing: only Linux can tie a process to its parent's
// life.
func DieWithParent() {}
