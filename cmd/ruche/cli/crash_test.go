package cli_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/packgen"
)

// treeOf hashes every file under root the way two boxes are compared:
// content and mode, without the lock file, the database's bytes (SQLite
// pages are not deterministic; its rows are checked elsewhere) and the
// revisions' timestamps.
func treeOf(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." || rel == "run/ruche/apply.lock" || strings.HasPrefix(rel, provision.DBPath) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out[rel] = "link " + target
			return nil
		}
		if !info.Mode().IsRegular() {
			out[rel] = info.Mode().String()
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, provision.RevisionsDir) && strings.HasSuffix(rel, ".json") {
			var r map[string]any
			if err := json.Unmarshal(data, &r); err != nil {
				return err
			}
			delete(r, "time")
			data, _ = json.Marshal(r)
		}
		sum := sha256.Sum256(data)
		out[rel] = info.Mode().String() + " " + string(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func treeDiff(want, got map[string]string) []string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			d = append(d, "missing "+k)
		} else if g != v {
			d = append(d, "differs "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], "…")
	}
	return d
}

func rucheApply(t *testing.T, root, pack string) {
	t.Helper()
	cmd := exec.Command(rucheBin, "apply", "--lang", "en", "--root", root, pack)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("ruche apply: %v\n%s", err, out.String())
	}
}

// TestKill9DuringApply kills `ruche apply` of a 500-site pack at random
// times, 20 times; each time a new apply must converge to the tree of a
// clean apply.
func TestKill9DuringApply(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 20 applies of 500 sites")
	}
	pack := filepath.Join(t.TempDir(), "500.yaml")
	if err := os.WriteFile(pack, packgen.Sites(500, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	// Every run uses the same root path: rendered files hold absolute
	// paths, and the trees are compared byte for byte.
	box := filepath.Join(t.TempDir(), "box")
	clean := box
	start := time.Now()
	rucheApply(t, clean, pack)
	took := time.Since(start)
	want := treeOf(t, clean)
	t.Logf("clean apply of 500 sites: %v, %d paths", took, len(want))

	rng := rand.New(rand.NewPCG(1, 2))
	interrupted := 0
	for i := range 20 {
		if err := os.RemoveAll(box); err != nil {
			t.Fatal(err)
		}
		root := box
		cmd := exec.Command(rucheBin, "apply", "--root", root, pack)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(took)))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			interrupted++
		} else if err != nil {
			t.Fatalf("run %d: apply failed by itself: %v", i, err)
		}
		rucheApply(t, root, pack)
		if d := treeDiff(want, treeOf(t, root)); len(d) > 0 {
			t.Fatalf("run %d (killed after %v): tree differs from a clean apply: %v", i, delay, d)
		}
	}
	t.Logf("%d of 20 applies were killed mid-way", interrupted)
	if interrupted < 10 {
		t.Errorf("only %d of 20 applies were interrupted: the kill times miss the apply", interrupted)
	}
}
