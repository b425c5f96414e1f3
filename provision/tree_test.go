package provision_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// treeRenderer renders each site as one Tree, the way services/sites does,
// with content small enough to reason about in a test.
type treeRenderer struct{}

func (treeRenderer) Name() string { return "tree-sites" }

func (treeRenderer) Render(in *provision.RenderInput, out *provision.Desired) error {
	for _, s := range in.Pack.Sites {
		t := provision.Tree{Link: "var/lib/ruche/sites/" + s.Name + "/public", Group: "site:" + s.Name, Service: "web"}
		for _, p := range s.Pages {
			rel := strings.TrimPrefix(strings.TrimSuffix(p.Path, "/")+"/index.html", "/")
			t.Files = append(t.Files, provision.File{Path: rel, Content: []byte(s.Title + ": " + p.Title + "\n" + p.Body)})
		}
		out.Trees = append(out.Trees, t)
		out.MoveAside["site:"+s.Name] = "var/lib/ruche/sites/" + s.Name + "/uploads"
	}
	return nil
}

func newTreeEngine(root string) *provision.Engine {
	return &provision.Engine{Root: root, Renderers: []provision.Renderer{treeRenderer{}}, Now: func() time.Time { return fixedNow }}
}

func TestTreeSwitchAndKeepPrevious(t *testing.T) {
	root := t.TempDir()
	e := newTreeEngine(root)
	apply(t, e, "three-sites.yaml")
	link := filepath.Join(root, "var/lib/ruche/sites/vitrine/public")
	first, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(first, "releases/") {
		t.Fatalf("public is not a link to a release: %q %v", first, err)
	}
	if data, err := os.ReadFile(filepath.Join(link, "contact/index.html")); err != nil || !strings.Contains(string(data), "Contact") {
		t.Fatalf("page through the link: %q %v", data, err)
	}
	if n := provision.CountChanges(apply(t, e, "three-sites.yaml").Changes); n != 0 {
		t.Fatalf("no-op apply: %d changes", n)
	}
	// Change vitrine's title: one change, a new release, the old kept.
	raw, _ := os.ReadFile("testdata/engine/three-sites.yaml")
	edited := strings.Replace(string(raw), `title: "Café d'ANAIS"`, `title: "Café d'ANAIS !"`, 1)
	p, err := provision.Load("edited.yaml", []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(context.Background(), p, []byte(edited), provision.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var trees, files int
	for _, c := range res.Changes {
		switch c.Kind {
		case provision.ChangeTree:
			trees++
		case provision.ChangeTreeFile:
			files++
		}
	}
	if trees != 1 || files != 2 {
		t.Errorf("title change: %d tree switches and %d file lines, want 1 and 2", trees, files)
	}
	second, _ := os.Readlink(link)
	if second == first {
		t.Fatal("the link did not switch")
	}
	releases, _ := os.ReadDir(filepath.Join(root, "var/lib/ruche/sites/vitrine/releases"))
	if len(releases) != 2 {
		t.Errorf("got %d releases, want the new one and the one before", len(releases))
	}
	// A third version: the oldest release goes.
	edited2 := strings.Replace(edited, "Écrivez-nous.", "Écrivez-nous vite.", 1)
	p2, _ := provision.Load("edited2.yaml", []byte(edited2))
	if _, err := e.Apply(context.Background(), p2, []byte(edited2), provision.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	releases, _ = os.ReadDir(filepath.Join(root, "var/lib/ruche/sites/vitrine/releases"))
	names := []string{}
	for _, r := range releases {
		names = append(names, "releases/"+r.Name())
	}
	if len(releases) != 2 || strings.Contains(strings.Join(names, " "), first) {
		t.Errorf("after a third version: releases %v, want two without the first (%s)", names, first)
	}
	// Removing the site removes its link and releases.
	apply(t, e, "two-sites.yaml")
	if _, err := os.Lstat(filepath.Join(root, "var/lib/ruche/sites/fete-2026")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed site's folder is still there: %v", err)
	}
}

// TestTreeCrashAtEveryStep: a crash at each step of a tree apply, then a
// new apply, gives the tree of a clean apply.
func TestTreeCrashAtEveryStep(t *testing.T) {
	for _, scenario := range [][]string{
		{"three-sites.yaml"},
		{"three-sites.yaml", "two-sites.yaml"},
		{"two-sites.yaml", "three-sites.yaml"},
	} {
		t.Run(strings.Join(scenario, "→"), func(t *testing.T) {
			box := filepath.Join(t.TempDir(), "box")
			fresh := func() string {
				os.RemoveAll(box)
				up := filepath.Join(box, "var/lib/ruche/sites/fete-2026/uploads")
				os.MkdirAll(up, 0o755)
				os.WriteFile(filepath.Join(up, "affiche.pdf"), []byte("affiche"), 0o644)
				return box
			}
			run := func(root string, hook func(string) error) (*provision.Engine, error) {
				e := newTreeEngine(root)
				for _, name := range scenario[:len(scenario)-1] {
					apply(t, e, name)
				}
				provision.SetStepHook(e, hook)
				p, raw := loadPack(t, scenario[len(scenario)-1])
				_, err := e.Apply(context.Background(), p, raw, provision.ApplyOptions{Author: "test"})
				provision.SetStepHook(e, nil)
				return e, err
			}
			var all []string
			if _, err := run(fresh(), func(s string) error { all = append(all, s); return nil }); err != nil {
				t.Fatal(err)
			}
			want := snapshot(t, box)
			for i, step := range all {
				e, err := run(fresh(), func(s string) error {
					if s == step {
						return errCrash
					}
					return nil
				})
				if !errors.Is(err, errCrash) {
					t.Fatalf("step %d (%s): no crash: %v", i, step, err)
				}
				apply(t, e, scenario[len(scenario)-1])
				if d := sameTree(want, snapshot(t, box)); len(d) > 0 {
					t.Fatalf("crash at step %d (%s): %v", i, step, d)
				}
			}
			t.Logf("%d crash points", len(all))
		})
	}
}
