package provision_test

import (
	"context"
	"path/filepath"
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
	for b.Loop() {
		b.StopTimer()
		root := b.TempDir()
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
