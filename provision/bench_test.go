package provision_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/packgen"
	"github.com/ruche-box/ruche/provision/store"
)

// The apply benchmarks run what `ruche apply` runs (the real renderers and
// the database) on a generated pack of 500 sites with 3 pages each.
// `make bench` records them in docs/benchmarks.md.

func benchPack(b *testing.B) (*provision.Pack, []byte) {
	raw := packgen.Sites(500, 3)
	p, err := provision.Load("500.yaml", raw)
	if err != nil {
		b.Fatal(err)
	}
	return p, raw
}

func benchEngine(b *testing.B, root string) (*provision.Engine, func()) {
	db, err := store.Open(context.Background(), filepath.Join(root, provision.DBPath))
	if err != nil {
		b.Fatal(err)
	}
	e := newBenchEngine(root)
	e.Store = db
	return e, func() { db.Close() }
}

func newBenchEngine(root string) *provision.Engine {
	return &provision.Engine{Root: root, Renderers: testRenderers()}
}

// BenchmarkApply500FromScratch: the first apply of 500 sites on an empty root.
func BenchmarkApply500FromScratch(b *testing.B) {
	p, raw := benchPack(b)
	ctx := context.Background()
	b.ReportAllocs()
	base := b.TempDir()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		// Each iteration gets a new root and nothing is deleted until the
		// end: on a disk mounted with discard, deleting 2,000 files slows
		// the next seconds of work, which would be timed as this apply's.
		// The disk is flushed before the clock starts.
		root := filepath.Join(base, fmt.Sprint(i))
		syscall.Sync()
		e, done := benchEngine(b, root)
		b.StartTimer()
		if _, err := e.Apply(ctx, p, raw, provision.ApplyOptions{Author: "bench"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		done()
		b.StartTimer()
	}
}

// BenchmarkApply500NoOp: applying the same 500-site pack again (0 changes).
func BenchmarkApply500NoOp(b *testing.B) {
	p, raw := benchPack(b)
	ctx := context.Background()
	e, done := benchEngine(b, b.TempDir())
	defer done()
	if _, err := e.Apply(ctx, p, raw, provision.ApplyOptions{Author: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.Apply(ctx, p, raw, provision.ApplyOptions{Author: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if n := provision.CountChanges(res.Changes); n != 0 {
			b.Fatalf("no-op apply made %d changes", n)
		}
	}
}

// BenchmarkCopy500Tree is the plain-tool baseline for
// BenchmarkApply500FromScratch: `cp -r` of the very tree that apply
// writes, on the same disk, in the same run. Creating 2,000 files and
// 1,000 folders costs what it costs on a given disk; the ratio of the two
// is Ruche's own overhead (render, plan, atomic writes).
func BenchmarkCopy500Tree(b *testing.B) {
	p, raw := benchPack(b)
	base := b.TempDir()
	src := filepath.Join(base, "src")
	e, done := benchEngine(b, src)
	if _, err := e.Apply(context.Background(), p, raw, provision.ApplyOptions{Author: "bench"}); err != nil {
		b.Fatal(err)
	}
	done()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dst := filepath.Join(base, fmt.Sprint(i))
		syscall.Sync()
		b.StartTimer()
		if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
	}
}
