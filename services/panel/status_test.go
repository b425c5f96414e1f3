package panel

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
)

// The dashboard shows the machine's memory, each running service's (a
// real process here) and the last verified restore — or says plainly that
// no restore was ever verified.
func TestDashboardMemoryAndDrill(t *testing.T) {
	f := newFixture(t, true)
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	f.p.opts.Services = func() []provision.ServiceStatus {
		return []provision.ServiceStatus{
			{Name: "postfix", State: provision.StateRunning, PID: child.Process.Pid},
			{Name: "php-fpm", State: provision.StateBackoff},
		}
	}
	writeBackupState(t, f.root)

	status := func() Status {
		rec := f.do(withSession(req("GET", "/api/status", nil), f.session("tech1")))
		var st Status
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("/api/status: %d %v", rec.Code, err)
		}
		return st
	}
	st := status()
	if m := st.Memory; m == nil || m.TotalBytes == 0 || m.AvailableBytes > m.TotalBytes || m.RucheBytes == 0 || m.Level == "" {
		t.Errorf("memory: %+v", st.Memory)
	}
	if st.Services[0].Name != "php-fpm" || st.Services[0].MemoryBytes != 0 || st.Services[1].MemoryBytes == 0 {
		t.Errorf("services' memory: %+v", st.Services)
	}
	if st.Drill == nil || !st.Drill.LastSuccess.IsZero() {
		t.Errorf("drill before any: %+v", st.Drill)
	}
	body := f.do(withSession(req("GET", "/", nil), f.session("alice"))).Body.String()
	for _, want := range []string{"<h2 id=\"h-memory\">Mémoire</h2>", "disponibles sur", "Ruche lui-même (sans les services)", "Aucune restauration n&#39;a encore été vérifiée"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}

	// A drill that passed, then one that failed: the success stays, the
	// failure is said.
	path := filepath.Join(f.root, backup.DrillStateFile)
	os.MkdirAll(filepath.Dir(path), 0o700)
	ok := `{"last_run":"2026-03-01T04:00:00Z","last_ok":true,"last_success":"2026-03-01T04:00:00Z","target":"usb","snapshot":"abcd1234"}`
	if err := os.WriteFile(path, []byte(ok), 0o600); err != nil {
		t.Fatal(err)
	}
	if d := status().Drill; d == nil || !d.LastOK || !d.LastSuccess.Equal(time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)) || d.Target != "usb" {
		t.Errorf("drill: %+v", d)
	}
	body = f.do(withSession(req("GET", "/", nil), f.session("alice"))).Body.String()
	if !strings.Contains(body, "Dernière restauration vérifiée") || strings.Contains(body, "Aucune restauration") {
		t.Errorf("dashboard after a drill:\n%s", body[strings.Index(body, "h-backups"):])
	}
	failed := `{"last_run":"2026-03-08T04:00:00Z","last_ok":false,"last_success":"2026-03-01T04:00:00Z","error":{"fr":"le wiki restauré ne répond pas","en":"the restored wiki does not answer"}}`
	os.WriteFile(path, []byte(failed), 0o600)
	body = f.do(withSession(req("GET", "/", nil), f.session("alice"))).Body.String()
	for _, want := range []string{"dernier essai en échec", "Dernière restauration vérifiée", "a échoué : le wiki restauré ne répond pas"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard after a failed drill lacks %q", want)
		}
	}
}
