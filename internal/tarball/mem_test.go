package tarball

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryDoesNotGrowWithFileSize packs a 200 MB file and checks that the
// heap never holds more than a small, size-independent amount.
func TestMemoryDoesNotGrowWithFileSize(t *testing.T) {
	if testing.Short() {
		t.Skip("packs a 200 MB file")
	}
	const size = 200 << 20
	const limit = 64 << 20
	big := filepath.Join(t.TempDir(), "facet")
	writeBinaryLike(t, big, size)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	info, err := Write(io.Discard, []File{
		{Path: "package.json", Data: []byte(testManifest)},
		{Path: "bin/facet", Source: big, Mode: 0o755},
	})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if info.UnpackedSize != size+int64(len(testManifest)) {
		t.Errorf("UnpackedSize = %d", info.UnpackedSize)
	}
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("packed %d MB into %d MB in %v; peak heap in use %d MB above the %d MB baseline",
		size>>20, info.Size>>20, time.Since(start).Round(time.Millisecond), grew>>20, base.HeapInuse>>20)
	if grew > limit {
		t.Errorf("heap grew by %d MB while packing a %d MB file; want under %d MB", grew>>20, size>>20, limit>>20)
	}
}

// BenchmarkWrite packs a 50 MB executable-like file: copies of the Go
// toolchain binary when present, generated data otherwise.
func BenchmarkWrite(b *testing.B) {
	src := filepath.Join(b.TempDir(), "facet")
	makeBenchInput(b, src, 50<<20)
	files := []File{
		{Path: "package.json", Data: []byte(testManifest)},
		{Path: "bin/facet", Source: src, Mode: 0o755},
	}
	b.SetBytes(50 << 20)
	b.ResetTimer()
	var info Info
	for b.Loop() {
		var err error
		if info, err = Write(io.Discard, files); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(info.Size)/float64(info.UnpackedSize), "ratio")
}

func makeBenchInput(b *testing.B, dst string, n int64) {
	goBin, err := exec.LookPath("go")
	var in []byte
	if err == nil {
		in, err = os.ReadFile(goBin)
	}
	if err != nil || len(in) == 0 {
		writeBinaryLike(b, dst, n)
		return
	}
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	for written := int64(0); written < n; {
		w := min(int64(len(in)), n-written)
		if _, err := out.Write(in[:w]); err != nil {
			b.Fatal(err)
		}
		written += w
	}
}
