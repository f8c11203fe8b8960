package platforms

import (
	"runtime"
	"testing"
)

func TestTableShape(t *testing.T) {
	want := []string{
		"linux-arm64", "linux-x64", "linux-x64-baseline",
		"linux-arm64-musl", "linux-x64-musl", "linux-x64-baseline-musl",
		"darwin-arm64", "darwin-x64", "darwin-x64-baseline",
		"windows-arm64", "windows-x64", "windows-x64-baseline",
	}
	got := Names()
	if len(got) != len(want) {
		t.Fatalf("got %d targets, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestTargetFields(t *testing.T) {
	tests := []struct {
		name                           string
		os, cpu, libc, bun, goos, arch string
		amd64, bin                     string
	}{
		{"linux-x64-baseline-musl", "linux", "x64", "musl", "bun-linux-x64-baseline-musl", "linux", "amd64", "v1", "facet"},
		{"linux-arm64", "linux", "arm64", "glibc", "bun-linux-arm64", "linux", "arm64", "", "facet"},
		{"linux-x64", "linux", "x64", "glibc", "bun-linux-x64", "linux", "amd64", "v3", "facet"},
		{"darwin-x64-baseline", "darwin", "x64", "", "bun-darwin-x64-baseline", "darwin", "amd64", "v1", "facet"},
		{"windows-x64", "win32", "x64", "", "bun-windows-x64", "windows", "amd64", "v3", "facet.exe"},
		{"windows-arm64", "win32", "arm64", "", "bun-windows-arm64", "windows", "arm64", "", "facet.exe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := Lookup(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{tg.OS, tg.CPU, tg.Libc, tg.BunTarget, tg.GOOS, tg.GOARCH, tg.GOAMD64, tg.BinaryName("facet")}
			want := []string{tt.os, tt.cpu, tt.libc, tt.bun, tt.goos, tt.arch, tt.amd64, tt.bin}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d = %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("linux-riscv64")
	if err == nil {
		t.Fatal("want error")
	}
	if got := err.Error(); got[:len(`unknown target "linux-riscv64"`)] != `unknown target "linux-riscv64"` {
		t.Errorf("error = %q", got)
	}
}

func TestCandidates(t *testing.T) {
	tests := []struct {
		host Host
		want []string
	}{
		{Host{OS: "linux", CPU: "x64", Libc: Glibc, AVX2: true}, []string{"linux-x64", "linux-x64-baseline"}},
		{Host{OS: "linux", CPU: "x64", Libc: Glibc, AVX2: false}, []string{"linux-x64-baseline", "linux-x64"}},
		{Host{OS: "linux", CPU: "x64", Libc: Musl, AVX2: false}, []string{"linux-x64-baseline-musl", "linux-x64-musl"}},
		{Host{OS: "linux", CPU: "arm64", Libc: Musl}, []string{"linux-arm64-musl"}},
		{Host{OS: "darwin", CPU: "arm64"}, []string{"darwin-arm64"}},
		{Host{OS: "win32", CPU: "x64", AVX2: true}, []string{"windows-x64", "windows-x64-baseline"}},
		{Host{OS: "freebsd", CPU: "x64"}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range tt.host.Candidates() {
			got = append(got, c.Name)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%+v: got %v, want %v", tt.host, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%+v: got %v, want %v", tt.host, got, tt.want)
			}
		}
	}
}

func TestCurrent(t *testing.T) {
	tg, err := Current()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		if err == nil {
			t.Fatalf("want error on %s", runtime.GOOS)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if tg.GOOS != runtime.GOOS || tg.GOARCH != runtime.GOARCH {
		t.Errorf("Current() = %s, runtime is %s/%s", tg.Name, runtime.GOOS, runtime.GOARCH)
	}
}
