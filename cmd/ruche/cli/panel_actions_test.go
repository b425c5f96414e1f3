package cli_test

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup"
)

// The dashboard's staff actions on a real `ruche up` (exec supervisor, the
// real restic): a technician restarts php-fpm from its form (a new PID),
// backs up now (a snapshot appears) and runs a restore drill through the
// API (the drill's state records a verified restore); a member may not.
func TestPanelActions(t *testing.T) {
	needWiki(t) // php-fpm is the service restarted, and the drill reads the wiki
	b := newBackupBox(t, localTarget, 0, nil)
	traversable(b.root)
	// ruche up's backups and drill find the pinned restic here.
	t.Setenv(backup.BinaryEnv, b.restic)
	pack := strings.Replace(fmt.Sprintf(backupPack, localTarget), "users: [{login: alice, role: admin}]",
		"users: [{login: alice, role: admin}, {login: tom, role: technician}, {login: bob, role: member}]", 1)
	u := startUp(t, b.root, writePack(t, t.TempDir(), "pack.yaml", pack))
	_, port, _ := strings.Cut(u.http, ":")
	base := "http://panel.localhost:" + port
	setPassword(t, b.root, "tom", "tom's own password")
	setPassword(t, b.root, "bob", "bob's own password")

	client := boxClient(u.http, nil, false)
	do := func(cookie, method, path string, body io.Reader, header map[string]string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", cookie)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(out)
	}
	login := func(who, password string) (cookie, csrf string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"login": who, "password": password})
		code, h, out := do("", "POST", "/api/session", strings.NewReader(string(body)), map[string]string{"Content-Type": "application/json"})
		var s struct {
			CSRFToken string `json:"csrf_token"`
		}
		m := regexp.MustCompile(`ruche_session=([^;]+)`).FindStringSubmatch(h.Get("Set-Cookie"))
		if code != 200 || json.Unmarshal([]byte(out), &s) != nil || m == nil {
			t.Fatalf("POST /api/session as %s: %d %s", who, code, out)
		}
		return "ruche_session=" + m[1], s.CSRFToken
	}
	type status struct {
		Services []struct {
			Name  string `json:"name"`
			State string `json:"state"`
			PID   int    `json:"pid"`
		} `json:"services"`
		Backups []struct {
			Target       string    `json:"target"`
			LastSuccess  time.Time `json:"last_success"`
			LastSnapshot string    `json:"last_snapshot"`
		} `json:"backups"`
		Drill *struct {
			LastRun time.Time `json:"last_run"`
			LastOK  bool      `json:"last_ok"`
			Error   string    `json:"error"`
		} `json:"drill"`
	}
	tom, tomCSRF := login("tom", "tom's own password")
	readStatus := func() status {
		t.Helper()
		code, _, out := do(tom, "GET", "/api/status", nil, nil)
		var st status
		if err := json.Unmarshal([]byte(out), &st); code != 200 || err != nil {
			t.Fatalf("GET /api/status: %d %v\n%s", code, err, out)
		}
		return st
	}
	phpPID := func(st status) int {
		for _, s := range st.Services {
			if s.Name == "php-fpm" && s.State == "running" {
				return s.PID
			}
		}
		return 0
	}
	var before int
	eventually(t, 30*time.Second, "php-fpm never ran", func() bool { before = phpPID(readStatus()); return before > 0 })

	// The dashboard, as tom's browser sees it: a restart button per
	// service and the backup buttons, each form with its token.
	code, _, page := do(tom, "GET", "/", nil, map[string]string{"Accept": "text/html"})
	if code != 200 || !strings.Contains(page, `action="/services/php-fpm/restart"`) || !strings.Contains(page, `action="/backups"`) || !strings.Contains(page, `action="/backups/drill"`) {
		t.Fatalf("dashboard as tom: %d, buttons missing\n%s", code, page)
	}
	csrf := html.UnescapeString(regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1])
	formHeader := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base, "Sec-Fetch-Site": "same-origin"}
	formBody := func() io.Reader { return strings.NewReader(url.Values{"csrf": {csrf}}.Encode()) }

	// A member may not; nothing restarts.
	bob, bobCSRF := login("bob", "bob's own password")
	if code, _, out := do(bob, "POST", "/api/services/php-fpm/restart", nil, map[string]string{"X-CSRF-Token": bobCSRF}); code != 403 {
		t.Errorf("restart as bob: %d %s, want 403", code, out)
	}
	if code, _, out := do(bob, "POST", "/api/backups", nil, map[string]string{"X-CSRF-Token": bobCSRF}); code != 403 {
		t.Errorf("back up now as bob: %d %s, want 403", code, out)
	}
	// A service the box does not run: 404, naming it.
	if code, _, out := do(tom, "POST", "/api/services/apache/restart", nil, map[string]string{"X-CSRF-Token": tomCSRF}); code != 404 || !strings.Contains(out, `no service is named \"apache\"`) {
		t.Errorf("restart apache: %d %s, want 404", code, out)
	}
	if pid := phpPID(readStatus()); pid != before {
		t.Fatalf("php-fpm's PID changed (%d → %d) before anyone restarted it", before, pid)
	}

	// Restart php-fpm from the dashboard: back to it with the flash, and
	// php-fpm runs under a new PID.
	code, h, _ := do(tom, "POST", "/services/php-fpm/restart", formBody(), formHeader)
	if code != http.StatusSeeOther || h.Get("Location") != "/?done=restart&service=php-fpm" {
		t.Fatalf("restart php-fpm: %d %q", code, h.Get("Location"))
	}
	if _, _, page := do(tom, "GET", h.Get("Location"), nil, map[string]string{"Accept": "text/html"}); !strings.Contains(page, "Service php-fpm restarted") {
		t.Errorf("no flash after the restart")
	}
	var after int
	eventually(t, 30*time.Second, "php-fpm did not come back under a new PID", func() bool {
		after = phpPID(readStatus())
		return after > 0 && after != before
	})
	t.Logf("php-fpm restarted: PID %d → %d", before, after)

	// Back up now: the backup runs in the daemon; a snapshot appears in
	// the target's status.
	code, h, _ = do(tom, "POST", "/backups", formBody(), formHeader)
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/?done=backup") {
		t.Fatalf("back up now: %d %q", code, h.Get("Location"))
	}
	eventually(t, 3*time.Minute, "no snapshot after back up now", func() bool {
		st := readStatus()
		return len(st.Backups) == 1 && !st.Backups[0].LastSuccess.IsZero() && st.Backups[0].LastSnapshot != ""
	})
	if snaps, err := b.repo(t, "var/backups/ruche/restic").Snapshots(t.Context(), backup.SnapshotFilter{}); err != nil || len(snaps) != 1 {
		t.Errorf("the repository's snapshots: %d, %v; want 1", len(snaps), err)
	}

	// The drill through the API: 202, the dashboard says it runs (its
	// lock is held before the answer), then its state records a verified
	// restore.
	started := time.Now()
	if code, _, out := do(tom, "POST", "/api/backups/drill", nil, map[string]string{"X-CSRF-Token": tomCSRF}); code != http.StatusAccepted {
		t.Fatalf("POST /api/backups/drill: %d %s, want 202", code, out)
	}
	if _, _, page := do(tom, "GET", "/", nil, map[string]string{"Accept": "text/html"}); !strings.Contains(page, "Drill running.") || strings.Contains(page, `action="/backups/drill"`) {
		t.Errorf("dashboard during the drill: not said to run, or the button is still there")
	}
	if code, _, out := do(tom, "POST", "/api/backups/drill", nil, map[string]string{"X-CSRF-Token": tomCSRF}); code != http.StatusConflict || !strings.Contains(out, "a restore drill is already running") {
		t.Errorf("second drill: %d %s, want 409", code, out)
	}
	var st status
	eventually(t, 5*time.Minute, "the drill recorded no result", func() bool {
		st = readStatus()
		return st.Drill != nil && st.Drill.LastRun.After(started)
	})
	if !st.Drill.LastOK {
		t.Errorf("the drill from the panel failed: %s", st.Drill.Error)
	}
	t.Logf("drill from the panel: %v", time.Since(started).Round(time.Second))

	// Every action is in the audit log, under tom's name.
	code, _, out := do(tom, "GET", "/api/audit", nil, nil)
	var audit struct {
		Entries []struct{ Actor, Action, Detail string }
	}
	if err := json.Unmarshal([]byte(out), &audit); code != 200 || err != nil {
		t.Fatalf("GET /api/audit: %d %v\n%s", code, err, out)
	}
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Detail)
	}
	if want := "tom drill |tom backup |tom restart php-fpm"; strings.Join(got, "|") != want {
		t.Errorf("audit log: %q, want %q", strings.Join(got, "|"), want)
	}
}
