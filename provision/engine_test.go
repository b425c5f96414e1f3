package provision_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/sites"
	"github.com/ruche-box/ruche/services/web"
)

// The engine's tests run the real renderers of the box (sites, web) into a
// temporary root: what is checked is what a box would have on disk.

var fixedNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newTestEngine(t *testing.T, root string) *provision.Engine {
	t.Helper()
	return &provision.Engine{
		Root:      root,
		Renderers: testRenderers(),
		Now:       func() time.Time { return fixedNow },
	}
}

// testRenderers are the box's real renderers, as cmd/ruche wires them.
func testRenderers() []provision.Renderer {
	return []provision.Renderer{sites.Renderer{}, web.Renderer{}}
}

func loadPack(t *testing.T, name string) (*provision.Pack, []byte) {
	t.Helper()
	file := filepath.Join("testdata/engine", name)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision.Load(file, raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p, raw
}

func apply(t *testing.T, e *provision.Engine, name string) *provision.Result {
	t.Helper()
	p, raw := loadPack(t, name)
	res, err := e.Apply(context.Background(), p, raw, provision.ApplyOptions{Author: "test"})
	if err != nil {
		t.Fatalf("apply %s: %v", name, err)
	}
	return res
}

// fileState is what the tests compare of one path.
type fileState struct {
	Mode    fs.FileMode
	SHA     [32]byte
	ModTime time.Time
}

// snapshot records every path under root, except the lock file (its
// presence is not state).
func snapshot(t *testing.T, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." || rel == "run/ruche/apply.lock" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{Mode: info.Mode()}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			st.SHA = sha256.Sum256([]byte(target))
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.SHA = sha256.Sum256(data)
			st.ModTime = info.ModTime()
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree reports the differences of content, mode and presence (not
// times) between two snapshots.
func sameTree(a, b map[string]fileState) []string {
	var diffs []string
	for k, va := range a {
		vb, ok := b[k]
		switch {
		case !ok:
			diffs = append(diffs, "only in first: "+k)
		case va.Mode != vb.Mode:
			diffs = append(diffs, fmt.Sprintf("%s: mode %v vs %v", k, va.Mode, vb.Mode))
		case va.SHA != vb.SHA:
			diffs = append(diffs, k+": content differs")
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, "only in second: "+k)
		}
	}
	sort.Strings(diffs)
	return diffs
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	root := t.TempDir()
	e := newTestEngine(t, root)
	first := apply(t, e, "three-sites.yaml")
	if n := provision.CountChanges(first.Changes); n == 0 {
		t.Fatal("first apply: got 0 changes, want some")
	}
	if first.Revision != 1 {
		t.Errorf("first apply: got revision %d, want 1", first.Revision)
	}
	before := snapshot(t, root)
	time.Sleep(20 * time.Millisecond) // so that a rewrite would show in mtimes
	second := apply(t, e, "three-sites.yaml")
	if n := provision.CountChanges(second.Changes); n != 0 {
		var buf bytes.Buffer
		provision.WriteChanges(&buf, second.Changes, "en", true)
		t.Fatalf("second apply: got %d changes, want 0:\n%s", n, buf.String())
	}
	after := snapshot(t, root)
	if d := sameTree(before, after); len(d) > 0 {
		t.Fatalf("second apply changed the tree: %v", d)
	}
	for path, st := range before {
		if !after[path].ModTime.Equal(st.ModTime) {
			t.Errorf("%s: mtime changed by a no-op apply", path)
		}
	}
	revs, err := provision.ListRevisions(root)
	if err != nil || len(revs) != 1 {
		t.Fatalf("got %d revisions (%v), want 1", len(revs), err)
	}
}

func TestRemoveSiteRemovesOnlyItsFiles(t *testing.T) {
	root := t.TempDir()
	e := newTestEngine(t, root)
	apply(t, e, "three-sites.yaml")
	// A volunteer uploaded a poster to the site about to go.
	uploads := filepath.Join(root, "var/lib/ruche/sites/fete-2026/uploads")
	if err := os.MkdirAll(uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	poster := []byte("affiche de la fête")
	if err := os.WriteFile(filepath.Join(uploads, "affiche.pdf"), poster, 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	res := apply(t, e, "two-sites.yaml")
	after := snapshot(t, root)

	for path, st := range before {
		now, still := after[path]
		switch {
		case strings.Contains(path, "sites/fete-2026"):
			if still {
				t.Errorf("%s: still there after its site was removed", path)
			}
		case path == provision.PackPath || path == provision.ManifestPath || strings.HasPrefix(path, provision.RevisionsDir) || path == web.ConfigPath:
			// the pack, its bookkeeping and the web config follow the pack
		case !still:
			t.Errorf("%s: removed, but it is not the removed site's", path)
		case now.SHA != st.SHA || !now.ModTime.Equal(st.ModTime):
			t.Errorf("%s: rewritten, but it is not the removed site's", path)
		}
	}
	// The upload is kept, moved aside, byte for byte.
	var kept []string
	filepath.WalkDir(filepath.Join(root, provision.RemovedDir), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(path) == "affiche.pdf" {
			kept = append(kept, path)
		}
		return nil
	})
	if len(kept) != 1 {
		t.Fatalf("the removed site's upload: found %d copies under %s, want 1", len(kept), provision.RemovedDir)
	}
	if got, _ := os.ReadFile(kept[0]); !bytes.Equal(got, poster) {
		t.Errorf("moved upload: got %q, want %q", got, poster)
	}
	var moved bool
	for _, c := range res.Changes {
		moved = moved || c.Kind == provision.ChangeMoveAside
	}
	if !moved {
		t.Error("the plan did not say the uploads were moved aside")
	}
	if n := provision.CountChanges(apply(t, e, "two-sites.yaml").Changes); n != 0 {
		t.Errorf("apply after removal again: got %d changes, want 0", n)
	}
}

func TestPlanChangesNothing(t *testing.T) {
	root := t.TempDir()
	e := newTestEngine(t, root)
	p, raw := loadPack(t, "three-sites.yaml")
	res, err := e.Plan(context.Background(), p, raw)
	if err != nil {
		t.Fatal(err)
	}
	if provision.CountChanges(res.Changes) == 0 {
		t.Fatal("plan on an empty root: got 0 changes")
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Fatalf("plan wrote into the root: %v", entries)
	}
}

func TestForeignFileIsKeptAside(t *testing.T) {
	root := t.TempDir()
	e := newTestEngine(t, root)
	// Someone wrote a file where Ruche will render one.
	mine := filepath.Join(root, "var/lib/ruche/sites/vitrine/public/index.html")
	os.MkdirAll(filepath.Dir(mine), 0o755)
	os.WriteFile(mine, []byte("fait main"), 0o644)
	apply(t, e, "three-sites.yaml")
	var found bool
	filepath.WalkDir(filepath.Join(root, provision.RemovedDir), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(path)
			found = found || string(data) == "fait main"
		}
		return nil
	})
	if !found {
		t.Fatal("a file Ruche did not make was overwritten without being kept")
	}
}

func TestLockRefusesSecondApply(t *testing.T) {
	root := t.TempDir()
	l, err := provision.TryLock(root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	p, raw := loadPack(t, "three-sites.yaml")
	_, err = newTestEngine(t, root).Apply(context.Background(), p, raw, provision.ApplyOptions{})
	if !errors.Is(err, provision.ErrLocked) {
		t.Fatalf("apply while locked: got %v, want ErrLocked", err)
	}
}

var errCrash = errors.New("injected crash")

// steps lists every disk step of an apply, in order.
func steps(t *testing.T, root string, packs ...string) []string {
	t.Helper()
	e := newTestEngine(t, root)
	for _, p := range packs[:len(packs)-1] {
		apply(t, e, p)
	}
	var list []string
	provision.SetStepHook(e, func(step string) error {
		list = append(list, step)
		return nil
	})
	apply(t, e, packs[len(packs)-1])
	return list
}

// TestCrashAtEveryStep injects a crash at each write, fsync, rename,
// removal and manifest step of an apply, then checks that a new apply
// converges to the tree a clean apply makes.
func TestCrashAtEveryStep(t *testing.T) {
	for _, scenario := range [][]string{
		{"three-sites.yaml"},                   // first apply on an empty root
		{"three-sites.yaml", "two-sites.yaml"}, // a site removed, its uploads moved aside
	} {
		t.Run(strings.Join(scenario, "→"), func(t *testing.T) {
			prepare := func(root string) {
				up := filepath.Join(root, "var/lib/ruche/sites/fete-2026/uploads")
				os.MkdirAll(up, 0o755)
				os.WriteFile(filepath.Join(up, "affiche.pdf"), []byte("affiche"), 0o644)
			}
			// Every run uses the same root path: rendered files hold
			// absolute paths, and the trees are compared byte for byte.
			box := filepath.Join(t.TempDir(), "box")
			fresh := func() string {
				if err := os.RemoveAll(box); err != nil {
					t.Fatal(err)
				}
				prepare(box)
				return box
			}
			cleanRoot := fresh()
			e := newTestEngine(t, cleanRoot)
			for _, p := range scenario {
				apply(t, e, p)
			}
			want := snapshot(t, cleanRoot)
			all := steps(t, fresh(), scenario...)
			if len(all) < 10 {
				t.Fatalf("got %d steps, want the apply's every write", len(all))
			}
			kinds := map[string]int{}
			for i, step := range all {
				kind, _, _ := strings.Cut(step, ":")
				kinds[kind]++
				root := fresh()
				e := newTestEngine(t, root)
				for _, p := range scenario[:len(scenario)-1] {
					apply(t, e, p)
				}
				last := scenario[len(scenario)-1]
				p, raw := loadPack(t, last)
				provision.SetStepHook(e, func(s string) error {
					if s == step {
						return errCrash
					}
					return nil
				})
				if _, err := e.Apply(context.Background(), p, raw, provision.ApplyOptions{Author: "test"}); !errors.Is(err, errCrash) {
					t.Fatalf("step %d (%s): apply did not crash: %v", i, step, err)
				}
				provision.SetStepHook(e, nil)
				apply(t, e, last)
				if d := sameTree(want, snapshot(t, root)); len(d) > 0 {
					t.Fatalf("crash at step %d (%s), then apply: tree differs from a clean apply: %v", i, step, d)
				}
				if n := provision.CountChanges(apply(t, e, last).Changes); n != 0 {
					t.Fatalf("crash at step %d (%s): third apply made %d changes, want 0", i, step, n)
				}
			}
			for _, k := range []string{"write", "fsync", "rename", "manifest"} {
				if kinds[k] == 0 {
					t.Errorf("no %q step was crashed into: %v", k, kinds)
				}
			}
			t.Logf("%d crash points: %v", len(all), kinds)
		})
	}
}
