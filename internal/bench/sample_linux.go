package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childrenCPU is the CPU time of every child process this process has
// waited for so far (RUSAGE_CHILDREN).
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const tick = 10 * time.Millisecond

// cpuSample is the machine's busy and total CPU time from /proc/stat, in
// ticks, and the CPU time of this process tree.
type cpuSample struct {
	busy, total uint64
	tree        time.Duration
}

func sampleCPU() cpuSample {
	s := cpuSample{tree: treeCPU()}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return s
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return s
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal guest guest_nice
	for i, v := range fields[1:] {
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		s.total += n
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	return s
}

// treeCPU is the CPU time used so far by this process and all its
// descendants, alive or reaped (a reaped child's time is in its parent's
// cutime and cstime). The local registries are descendants too.
func treeCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	cpu := map[int]uint64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// The command name may hold spaces and parentheses: fields start
		// after the last ')'. Then: state ppid … utime(11) stime cutime cstime.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		var sum uint64
		for _, v := range f[11:15] {
			n, _ := strconv.ParseUint(v, 10, 64)
			sum += n
		}
		cpu[pid] = sum
	}
	self := os.Getpid()
	inTree := map[int]bool{self: true}
	var member func(pid int, depth int) bool
	member = func(pid, depth int) bool {
		if v, ok := inTree[pid]; ok {
			return v
		}
		pp, ok := parent[pid]
		v := ok && pp != 0 && depth < 64 && member(pp, depth+1)
		inTree[pid] = v
		return v
	}
	var total uint64
	for pid, c := range cpu {
		if member(pid, 0) {
			total += c
		}
	}
	return time.Duration(total) * tick
}
