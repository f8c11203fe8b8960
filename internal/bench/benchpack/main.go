// Command benchpack is the benchmark's helper. It packs a package directory
// with internal/tarball, as the toolkit packs a platform package, in a
// process of its own; and it runs a command and reports the command's wall
// time, CPU time and peak memory, as /usr/bin/time does.
//
// A child started from a large process inherits that process's peak memory
// in its own ru_maxrss (the kernel records the peak of the memory it had
// before exec), so the benchmark starts every measured command through this
// small process.
//
// Usage:
//
//	benchpack pack [-cpuprofile FILE] PACKAGE_DIR OUT.tgz
//	benchpack measure -report FILE -- COMMAND [ARG...]
//
// pack prints the tarball's integrity, size and entry count as JSON. measure
// passes the command's output through, exits with its exit code, and writes
// {"wall":ns,"cpu":ns,"maxRSS":bytes} to FILE.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/tarball"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "pack":
		fs := flag.NewFlagSet("pack", flag.ExitOnError)
		profile := fs.String("cpuprofile", "", "write a CPU profile of the packing to `file`")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 2 {
			usage()
		}
		err = pack(fs.Arg(0), fs.Arg(1), *profile)
	case "measure":
		fs := flag.NewFlagSet("measure", flag.ExitOnError)
		report := fs.String("report", "", "write the measurement to `file`")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() < 1 || *report == "" {
			usage()
		}
		err = measure(*report, fs.Args())
	default:
		usage()
	}
	if ce, ok := command.AsError(err); ok && ce.Exit > 0 {
		os.Exit(ce.Exit)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchpack:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchpack pack [-cpuprofile FILE] PACKAGE_DIR OUT.tgz\n       benchpack measure -report FILE -- COMMAND [ARG...]")
	os.Exit(2)
}

func pack(dir, out, profile string) error {
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// As the toolkit packs a platform package: the files under bin/ are
	// the executables.
	files, err := tarball.FromDir(dir, func(rel string) bool { return strings.HasPrefix(rel, "bin/") })
	if err != nil {
		return err
	}
	info, err := tarball.Create(out, files)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(info)
}

// Measurement is what measure reports.
type Measurement struct {
	Wall   time.Duration `json:"wall"`
	CPU    time.Duration `json:"cpu"`
	MaxRSS int64         `json:"maxRSS"`
}

func measure(report string, argv []string) error {
	var u command.Usage
	run := &command.Runner{Environ: os.Environ()}
	runErr := run.Interactive(context.Background(), command.Cmd{Name: argv[0], Args: argv[1:], Usage: &u})
	data, err := json.Marshal(Measurement{Wall: u.Wall, CPU: u.CPU, MaxRSS: u.MaxRSS})
	if err != nil {
		return err
	}
	if err := os.WriteFile(report, data, 0o644); err != nil {
		return err
	}
	return runErr
}
