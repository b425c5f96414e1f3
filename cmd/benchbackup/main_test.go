package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup"
)

func TestPlan(t *testing.T) {
	specs, err := plan(10000, 500_000_000, 1)
	if err != nil {
		t.Fatal(err)
	}
	files, total, random := totals(specs)
	if files != 10000 || total != 500_000_000 {
		t.Errorf("plan: %d files, %d bytes; want 10000 files, 500000000 bytes", files, total)
	}
	if random < total/2 || random > total*95/100 {
		t.Errorf("random bytes %d of %d: want most of it in photos and images, not all", random, total)
	}
	again, _ := plan(10000, 500_000_000, 1)
	if !slices.Equal(specs, again) {
		t.Error("plan is not the same for the same seed")
	}
	other, _ := plan(10000, 500_000_000, 2)
	if slices.Equal(specs, other) {
		t.Error("plan is the same for another seed")
	}
	counts := map[string]int{}
	paths := map[string]bool{}
	var minPhoto int64 = 1 << 62
	for _, s := range specs {
		counts[s.Class]++
		if paths[s.Path] {
			t.Errorf("path %s twice", s.Path)
		}
		paths[s.Path] = true
		if !strings.HasPrefix(s.Path, "var/lib/ruche/wiki/") && !strings.HasPrefix(s.Path, "var/lib/ruche/sites/vitrine/uploads/") && !strings.HasPrefix(s.Path, "var/lib/ruche/sites/atelier/uploads/") {
			t.Errorf("%s: not in the wiki's data nor in a site's uploads", s.Path)
		}
		if s.Class == "site photos" {
			minPhoto = min(minPhoto, s.Size)
		}
	}
	want := map[string]int{"wiki pages": 5200, "wiki metadata": 2000, "wiki media (images)": 250, "site documents (PDF, text)": 2350, "site photos": 200}
	for c, n := range want {
		if counts[c] != n {
			t.Errorf("%s: %d files, want %d", c, counts[c], n)
		}
	}
	if minPhoto < 1_000_000 {
		t.Errorf("smallest photo %d bytes: want MB-sized photos", minPhoto)
	}
	if _, err := plan(100, 1000, 1); err == nil {
		t.Error("plan of 100 files in 1000 bytes: no error")
	}
}

func TestClassCounts(t *testing.T) {
	for _, n := range []int{5, 7, 100, 999, 10000} {
		c := classCounts(n)
		sum := 0
		for _, x := range c {
			if x < 1 {
				t.Errorf("%d files: a class has %d", n, x)
			}
			sum += x
		}
		if sum != n {
			t.Errorf("%d files: counts %v sum to %d", n, c, sum)
		}
	}
}

func TestWriteDatasetAndChanges(t *testing.T) {
	specs, err := plan(60, 8_000_000, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if err := writeDataset(d, specs, 3); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range specs {
		x, err := os.ReadFile(filepath.Join(a, s.Path))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(x)) != s.Size {
			t.Errorf("%s: %d bytes, want %d", s.Path, len(x), s.Size)
		}
		if y, _ := os.ReadFile(filepath.Join(b, s.Path)); !bytes.Equal(x, y) {
			t.Errorf("%s: not the same content for the same seed", s.Path)
		}
		if !s.Binary && strings.ContainsFunc(string(x), func(r rune) bool { return r != '\n' && (r < ' ' || r > '~') }) {
			t.Errorf("%s: text file with other than printable ASCII", s.Path)
		}
	}

	picked := changes(specs, 6, 9)
	if len(picked) != 6 {
		t.Fatalf("changes: %d files, want 6", len(picked))
	}
	seen := map[int]bool{}
	for _, i := range picked {
		if seen[i] {
			t.Errorf("file %d picked twice", i)
		}
		seen[i] = true
		before, _ := os.ReadFile(filepath.Join(a, specs[i].Path))
		size, err := applyChange(a, specs, i, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(filepath.Join(a, specs[i].Path))
		if int64(len(after)) != size || bytes.Equal(before, after) {
			t.Errorf("%s: change gave %d bytes (said %d), changed %v", specs[i].Path, len(after), size, !bytes.Equal(before, after))
		}
		if specs[i].Binary && size != specs[i].Size {
			t.Errorf("%s: a replaced photo changed size: %d, was %d", specs[i].Path, size, specs[i].Size)
		}
	}
	if !slices.Equal(picked, changes(specs, 6, 9)) {
		t.Error("changes are not the same for the same seed")
	}
	// 1% of 10,000 files: each class in proportion, 2 of the 200 photos.
	big, _ := plan(10000, 500_000_000, 1)
	photos := 0
	for _, i := range changes(big, 100, 1) {
		if big[i].Class == "site photos" {
			photos++
		}
	}
	if photos != 2 {
		t.Errorf("1%% changed: %d photos, want 2", photos)
	}
}

func TestResticSubcommand(t *testing.T) {
	for args, want := range map[string]string{
		"--json --password-file /p --cache-dir /c backup --host h -- a": "backup",
		"--json -o sftp.command=ssh init":                               "init",
		"restore latest --target /x":                                    "restore",
		"--json":                                                        "",
	} {
		if got := resticSubcommand(strings.Fields(args)); got != want {
			t.Errorf("resticSubcommand(%s) = %q, want %q", args, got, want)
		}
	}
}

func TestParseResticLog(t *testing.T) {
	log := `time=2026-11-24T10:00:00.000Z level=DEBUG msg=restic component=backup target=local command=backup repository=/r/restic exit=10 duration=21.5ms
time=2026-11-24T10:00:02.000Z level=INFO msg="creating the repository" component=backup target=local
time=2026-11-24T10:00:04.000Z level=DEBUG msg=restic component=backup target=local command=init repository=/r/restic exit=0 duration=2.6s
time=2026-11-24T10:00:15.000Z level=DEBUG msg=restic component=backup target=local command=backup repository=/r/restic exit=0 duration=11.25s
`
	got := parseResticLog([]byte(log))
	want := []resticCall{{"backup", 10, 21500 * time.Microsecond}, {"init", 0, 2600 * time.Millisecond}, {"backup", 0, 11250 * time.Millisecond}}
	if !slices.Equal(got, want) {
		t.Errorf("parseResticLog: %v, want %v", got, want)
	}
}

func TestSummary(t *testing.T) {
	out := `{"message_type":"status","percent_done":0.5}
{"message_type":"summary","files_new":10,"files_changed":2,"data_added":1234,"total_files_processed":12,"snapshot_id":"abc"}
`
	s, err := summary([]byte(out))
	if err != nil || s.FilesNew != 10 || s.FilesChanged != 2 || s.DataAdded != 1234 || s.SnapshotID != "abc" {
		t.Errorf("summary: %+v, %v", s, err)
	}
	if _, err := summary([]byte(`{"message_type":"status"}`)); err == nil {
		t.Error("no summary: no error")
	}
}

func TestDisplayArgs(t *testing.T) {
	got := displayArgs([]string{"--exclude", "/w/root/var/lib/ruche/backup/.*", "--cache-dir", "/w/plain/cache", "--", "var/lib/ruche"}, "/w/root", "/w")
	want := `--exclude 'ROOT/var/lib/ruche/backup/.*' --cache-dir WORK/plain/cache -- var/lib/ruche`
	if got != want {
		t.Errorf("displayArgs: %s, want %s", got, want)
	}
}

func TestReport(t *testing.T) {
	r := newResult()
	r.date, r.machine, r.loadBefore, r.loadAfter = "2026-11-24", "CPU (2 cores)", "0.1 0.2 0.3", "0.4 0.5 0.6"
	r.loadDuring = []float64{0.5, 1.5, 0.7}
	r.resticVersion, r.rucheVersion, r.rounds, r.incrementals = "restic 0.18.1", "ruche x", 3, 1
	r.files, r.bytes, r.binaryBytes, r.changed = 10000, 500_000_000, 400_000_000, 100
	r.classes = []classRow{{name: "wiki pages", files: 5200, bytes: 16_500_000}, {name: "site photos", files: 200, bytes: 300_000_000, binary: true}}
	r.changedBytes = []int64{3_000_000, 3_100_000, 2_900_000}
	r.rucheRestore = "not measured (command not available yet)"
	s := time.Second
	add := func(ph string, sd side, walls []time.Duration, peak int64) {
		for _, w := range walls {
			r.runs[ph][sd].walls = append(r.runs[ph][sd].walls, w)
			r.runs[ph][sd].peaks = append(r.runs[ph][sd].peaks, peak)
		}
	}
	add(phaseFirst, sideRuche, []time.Duration{14 * s, 15 * s, 13 * s}, 300<<10)
	add(phaseFirst, sidePlain, []time.Duration{14 * s, 13 * s, 14 * s}, 290<<10)
	add(phaseIncr, sideRuche, []time.Duration{3300 * time.Millisecond, 3200 * time.Millisecond, 3400 * time.Millisecond}, 100<<10)
	add(phaseIncr, sidePlain, []time.Duration{3 * s, 3 * s, 3 * s}, 100<<10)
	add(phaseRestore, sidePlain, []time.Duration{9 * s, 10 * s, 11 * s}, 200<<10)
	add(phaseVerify, sidePlain, []time.Duration{12 * s}, 210<<10)
	r.plainInit = []time.Duration{2 * s, 2 * s, 2 * s}
	r.plainBackupOnly = []time.Duration{12 * s, 11 * s, 12 * s}
	r.breakdowns[phaseIncr] = []breakdown{{total: 3300 * time.Millisecond, calls: []resticCall{{"backup", 0, 3 * s}}}}
	r.breakdowns[phaseVerify] = []breakdown{{total: 20 * s, calls: []resticCall{{"snapshots", 0, s}, {"snapshots", 0, s}, {"restore", 0, 12 * s}, {"ls", 0, s}}}}
	r.firstSummary = &backup.Summary{TotalFilesProcessed: 10012, TotalBytesProcessed: 500_100_000, DataAdded: 500_000_000, DataAddedPacked: 420_000_000}
	r.resticArgs = "--json backup -- var/lib/ruche"
	r.startRuche, r.startRestic = []time.Duration{40 * time.Millisecond, 40 * time.Millisecond}, []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}
	r.keyOpen = []time.Duration{600 * time.Millisecond}
	r.repoBytes[sideRuche], r.repoBytes[sidePlain] = 421_000_000, 420_500_000

	got := report(r, "make bench")
	for _, want := range []string{
		"<!-- bench:backup -->\n", "<!-- /bench:backup -->\n", "load average 0.1 0.2 0.3 before and 0.4 0.5 0.6 after, 0.70 (median) and 1.50 at most during the run", "    make bench\n", "**10,000 files, 500.0 MB**",
		"| first backup, new repository (`ruche backup now` / `restic init` + `restic backup`) | 14.0 s | 14.0 s | **1.00** | ≤ 1.05: met |",
		"| incremental backup, 100 files changed | 3.30 s | 3.00 s | **1.10** | ≤ 1.05: **not met** |",
		"| restore of the latest snapshot into an empty folder (`restic restore latest --target DIR`) | | 10.0 s | | |",
		"| the same, verified (`ruche backup restore latest --to DIR` / `restic restore --verify`) | ruche backup restore: not measured (command not available yet) | 12.0 s | – | |",
		"| peak memory of restic (VmHWM, largest of the runs), first backup | 300 MiB | 290 MiB | 1.03 | the box has 1 GiB |",
		"| peak memory of restic, restore / verified restore | – / – | 200 MiB / 210 MiB | | |",
		"- restore: restic 9.00 s, 10.0 s, 11.0 s; verified: restic 12.0 s; ruche backup restore: not measured (command not available yet)\n",
		"| incremental backup | 3.30 s | `restic backup` 3.00 s | 300 ms | 3.00 s |",
		"| restore, verified | 20.0 s | `restic snapshots` ×2 2.00 s, `restic restore` 12.0 s, `restic ls` 1.00 s | 5.00 s | 12.0 s (`restic restore --verify`) |",
		"3 rounds, medians; in each, the first backups, then 1 times 100 files (1%) changed",
		"ratio ruche / restic of each pair: first backup 1.00, 1.15, 0.93 (median 1.00); incremental 1.10, 1.07, 1.13 (median 1.10)",
		"`ruche version` 40 ms and `restic version` 20 ms (medians of 2)", "`restic cat config` 0.60 s (median of 1)",
		"300 ms per `ruche backup now` here, that is 10.0% of plain restic's incremental backup (itself 0.60 s of key opening and 2.40 s of work)",
		"The verified restore through Ruche ran 4 restic commands (median) where plain restic runs one",
		"The 100 files changed before each incremental backup weighed 2.9 MB to 3.1 MB",
		"| **total** | **10,000** | **500.0 MB** | 400.0 MB of random bytes |",
		"restic 14.0 s, 13.0 s, 14.0 s (of which `restic init` 2.00 s, 2.00 s, 2.00 s)",
		"    restic --json backup -- var/lib/ruche\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
