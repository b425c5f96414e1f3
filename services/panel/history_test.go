package panel

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/store"
	"github.com/ruche-box/ruche/services/health"
)

// writeSizedBackupState writes a backup state whose usb target succeeded
// at `at`, with restic's sizes.
func writeSizedBackupState(t *testing.T, root string, at time.Time) {
	t.Helper()
	path := filepath.Join(root, "var/lib/ruche/backup/state.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	state := `{"targets":{
		"usb":{"repository":"/media/usb","last_attempt":"` + at.Format(time.RFC3339) + `","last_status":"ok","last_success":"` + at.Format(time.RFC3339) + `",
			"last_snapshot":"abcd1234","last_bytes_added":123456789,"last_bytes_stored":45678901},
		"support":{"repository":"sftp:ruche@backup.example.org:/srv","last_attempt":"` + at.Format(time.RFC3339) + `","last_status":"failed"}}}`
	if err := os.WriteFile(path, []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
}

// RecordUsage samples the real disk of the fixture's root and the backup
// state, at once and then at each tick, until its context ends.
func TestRecordUsage(t *testing.T) {
	f := newFixture(t, true)
	backupAt := f.clock.Add(-26 * time.Hour).Truncate(time.Second)
	writeSizedBackupState(t, f.root, backupAt)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The clock ends the loop at its third sample: the first (at start)
	// and the second (the first tick) are written.
	calls := 0
	clock := f.clock
	f.p.now = func() time.Time {
		calls++
		if calls == 3 {
			cancel()
		}
		return clock
	}
	f.p.RecordUsage(ctx, time.Millisecond)
	if calls != 3 {
		t.Errorf("RecordUsage sampled %d times, want 3 (the last one cancelled)", calls)
	}
	f.p.now = func() time.Time { return f.clock }

	got, err := f.db.Samples(t.Context(), f.clock.Add(-48*time.Hour), f.clock.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]store.Sample{}
	for _, s := range got {
		by[s.Kind+" "+s.Target] = s
	}
	used, total := by[store.SampleDiskUsed+" "+f.root], by[store.SampleDiskTotal+" "+f.root]
	if total.Value == 0 || used.Value == 0 || used.Value > total.Value || !used.At.Equal(f.clock) {
		t.Errorf("disk samples: used %+v, total %+v (clock %v)", used, total, f.clock)
	}
	// Used is what df calls used: root's reserve is not counted in it.
	if u, err := health.Disk(f.root); err == nil && (used.Value < u.Used*9/10 || used.Value > u.Used*11/10) {
		t.Errorf("disk used sample %d, df says %d", used.Value, u.Used)
	}
	if a := by[store.SampleBackupAdded+" usb"]; a.Value != 123456789 || !a.At.Equal(backupAt) {
		t.Errorf("usb's bytes added: %+v, want 123456789 at %v", a, backupAt)
	}
	if s := by[store.SampleBackupStored+" usb"]; s.Value != 45678901 {
		t.Errorf("usb's bytes stored: %+v, want 45678901", s)
	}
	if _, ok := by[store.SampleBackupAdded+" support"]; ok {
		t.Error("a target that never succeeded has a backup sample")
	}
	// A second sample in the same slot replaces the first; the backup,
	// unchanged, is the same row.
	f.clock = f.clock.Add(time.Second)
	if err := f.p.RecordUsageOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, _ := f.db.Samples(t.Context(), f.clock.Add(-48*time.Hour), f.clock.Add(time.Minute))
	if len(again) != len(got) {
		t.Errorf("a second sample in the slot: %d rows, want %d", len(again), len(got))
	}
}

// The dashboard shows the month's charts once samples exist, and says
// there are none before; /history shows other ranges, refuses unknown
// ones; /api/usage gives the series.
func TestDashboardHistory(t *testing.T) {
	f := newFixture(t, true)
	tech := f.session("tech1")
	page := func(target string) (int, string) {
		r := withSession(req("GET", target, nil), tech)
		r.Header.Set("Accept", "text/html")
		rec := f.do(r)
		return rec.Code, rec.Body.String()
	}

	_, body := page("/")
	if !strings.Contains(body, "Pas encore de mesure") || strings.Contains(body, "<svg") {
		t.Error("the dashboard without samples does not say so")
	}

	writeSizedBackupState(t, f.root, f.clock.Add(-50*time.Hour))
	start := f.clock
	for i := 0; i < 8; i++ { // two hours of samples
		f.clock = start.Add(time.Duration(i) * UsageInterval)
		if err := f.p.RecordUsageOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	code, body := page("/")
	if code != 200 {
		t.Fatalf("dashboard: %d", code)
	}
	svgs := parseSVGs(t, body)
	disk, ok := svgs["chart-disk"]
	if !ok || factsOf(disk).polylines[0] != 8 {
		t.Errorf("dashboard's disk chart: %v, want a line of 8 points", factsOf(disk).polylines)
	}
	if _, ok := svgs["chart-backup"]; !ok {
		t.Error("the dashboard lacks the backups' chart")
	}
	for _, want := range []string{
		`<h2 id="h-usage">Historique</h2>`, `<strong aria-current="page">30 jours</strong>`,
		`href="/history?range=7d"`, `href="/history?range=1y"`, "<details><summary>Les chiffres : Espace disque</summary>",
		"123,5 Mo", "45,7 Mo", // usb's backup, in the table
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}

	code, body = page("/history?range=1y")
	if code != 200 || !strings.Contains(body, `<strong aria-current="page">1 an</strong>`) || len(parseSVGs(t, body)) != 2 {
		t.Errorf("/history?range=1y: %d, charts %d", code, len(parseSVGs(t, body)))
	}
	code, body = page("/history?range=2y")
	if code != 400 || !strings.Contains(body, "range") || !strings.Contains(body, "2y") {
		t.Errorf("/history?range=2y: %d, want 400 naming the parameter", code)
	}

	rec := f.do(withSession(req("GET", "/api/usage?range=7d", nil), tech))
	var api struct {
		Range  string        `json:"range"`
		Series []usageSeries `json:"series"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &api); err != nil || rec.Code != 200 {
		t.Fatalf("/api/usage: %d %v", rec.Code, err)
	}
	kinds := map[string]int{}
	for _, s := range api.Series {
		kinds[s.Kind] += len(s.Points)
	}
	if api.Range != "7d" || kinds[store.SampleDiskUsed] != 8 || kinds[store.SampleBackupAdded] != 1 {
		t.Errorf("/api/usage: range %q, points by kind %v", api.Range, kinds)
	}
	// A member sees neither.
	rec = f.do(withSession(req("GET", "/api/usage", nil), f.session("bob")))
	if rec.Code != 403 {
		t.Errorf("/api/usage as a member: %d", rec.Code)
	}
}
