package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/mail"
)

// An admin edits an alias in the panel of a real `ruche up` with mail: the
// edit is a new revision by the admin, the live pack keeps its comments,
// Postfix's virtual map has the new recipient and mail reaches them. An
// edit whose apply fails after the pack validated is shown as an error and
// rolled back: the live pack and Postfix stay as they were.
func TestPanelEditAliasUp(t *testing.T) {
	b := startMailBox(t, "")
	_, port, _ := strings.Cut(b.http, ":")
	base := "http://panel.localhost:" + port
	live := filepath.Join(b.root, provision.PackPath)
	const comment = "# contact reaches alice (a panel login) and the bureau alias."
	if raw, _ := os.ReadFile(live); !strings.Contains(string(raw), comment) {
		t.Fatalf("the mail pack changed; no %q in:\n%s", comment, raw)
	}

	cmd := exec.Command(rucheBin, "user", "passwd", "alice", "--lang", "en", "--root", b.root)
	cmd.Stdin = strings.NewReader("alice's password here\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd alice: %v\n%s", err, out)
	}
	client := boxClient(b.http, nil, false)
	do := func(cookie, method, path, ctype, body string) (int, http.Header, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(data)
	}
	var cookie string
	eventually(t, 20*time.Second, "alice cannot log in", func() bool {
		code, h, _ := do("", "POST", "/api/session", "application/json", `{"login":"alice","password":"alice's password here"}`)
		if m := regexp.MustCompile(`ruche_session=([^;]+)`).FindStringSubmatch(h.Get("Set-Cookie")); code == 200 && m != nil {
			cookie = "ruche_session=" + m[1]
			return true
		}
		return false
	})
	// The edit form, as a browser gets it: its CSRF token.
	code, _, page := do(cookie, "GET", "/aliases/soak@amis-jardin.org", "", "")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if code != 200 || m == nil {
		t.Fatalf("GET /aliases/soak@amis-jardin.org: %d\n%s", code, page)
	}
	csrf := m[1]
	edit := func(to string) (int, http.Header, string) {
		t.Helper()
		return do(cookie, "POST", "/aliases/soak@amis-jardin.org", "application/x-www-form-urlencoded",
			url.Values{"csrf": {csrf}, "to": {to}}.Encode())
	}
	revisions := func() []provision.Revision {
		t.Helper()
		revs, err := provision.ListRevisions(b.root)
		if err != nil {
			t.Fatal(err)
		}
		return revs
	}
	virtual := filepath.Join(b.root, mail.ConfDir, "virtual")
	lookup := func() string {
		out, _ := exec.Command(mail.Postmap, "-q", "soak@amis-jardin.org", "hash:"+virtual).Output()
		return strings.TrimSpace(string(out))
	}
	if got := lookup(); got != "soak@outside.test" {
		t.Fatalf("Postfix's virtual map before the edit: soak → %q", got)
	}

	// An apply that fails after the pack validated: the next revision's
	// file cannot be written (a folder is in its place), as a full or
	// broken disk would. The panel shows the error, the daemon applies
	// the previous pack again, nothing changes.
	before := revisions()
	rawBefore, _ := os.ReadFile(live)
	next := filepath.Join(b.root, provision.RevisionsDir, fmt.Sprintf("%06d.yaml", before[len(before)-1].Number+1))
	if err := os.MkdirAll(filepath.Join(next, "blocker"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, page = edit("dave@outside.test")
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "the box put the previous pack back") || !strings.Contains(page, "dave@outside.test") {
		t.Fatalf("an edit whose apply fails: %d\n%s", code, page)
	}
	if m := regexp.MustCompile(`role="alert">([^<]*)<`).FindStringSubmatch(page); m != nil {
		t.Logf("the admin reads: %s", m[1])
	}
	if raw, _ := os.ReadFile(live); string(raw) != string(rawBefore) {
		t.Fatalf("the live pack changed after a failed apply:\n%s", raw)
	}
	if got := len(revisions()); got != len(before) {
		t.Fatalf("%d revisions after a failed apply, want %d", got, len(before))
	}
	if got := lookup(); got != "soak@outside.test" {
		t.Fatalf("Postfix's virtual map after a failed apply: soak → %q", got)
	}
	eventually(t, 10*time.Second, "ruche up never said it rolled the edit back", func() bool {
		return strings.Contains(b.out.String(), "panel edit rolled back")
	})
	if err := os.RemoveAll(next); err != nil {
		t.Fatal(err)
	}

	// The same edit, now that the disk takes it.
	code, h, page := edit("alice\r\ndave@outside.test")
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/aliases?rev=") {
		t.Fatalf("the edit: %d %q\n%s", code, h.Get("Location"), page)
	}
	revs := revisions()
	last := revs[len(revs)-1]
	if len(revs) != len(before)+1 || last.Author != "alice" || !strings.Contains(last.Note, "soak@amis-jardin.org") {
		t.Fatalf("revisions after the edit: %+v", revs)
	}
	if h.Get("Location") != "/aliases?rev="+strconv.Itoa(last.Number) {
		t.Errorf("redirected to %q, want the new revision %d", h.Get("Location"), last.Number)
	}
	raw, _ := os.ReadFile(live)
	if !strings.Contains(string(raw), comment) || !strings.Contains(string(raw), "dave@outside.test") {
		t.Fatalf("the live pack after the edit:\n%s", raw)
	}
	// Only the edited line changed: every other line is as it was.
	if diff := editedLines(string(rawBefore), string(raw)); len(diff) != 1 || !strings.Contains(diff[0], "soak@amis-jardin.org") {
		t.Errorf("lines changed by the edit: %q", diff)
	}
	if got := lookup(); got != "alice@members.test,dave@outside.test" && got != "alice@members.test, dave@outside.test" {
		t.Errorf("Postfix's virtual map after the edit: soak → %q", got)
	}
	if err := send(t, b.smtp, "127.0.0.2", "someone@elsewhere.test", []string{"soak@amis-jardin.org"}, "after the panel edit"); err != nil {
		t.Fatalf("mail to the edited alias: %v", err)
	}
	waitDelivered(t, b.relay, "after the panel edit", []string{"alice@members.test", "dave@outside.test"})

	// The revisions page shows it, with the diff.
	code, _, page = do(cookie, "GET", "/revisions/"+strconv.Itoa(last.Number), "", "")
	if code != 200 || !strings.Contains(page, `<span class="add">`) || !strings.Contains(page, "dave@outside.test") {
		t.Errorf("the revision's page: %d\n%s", code, page)
	}
	var api struct{ Revisions []provision.Revision }
	code, _, body := do(cookie, "GET", "/api/revisions", "", "")
	if err := json.Unmarshal([]byte(body), &api); err != nil || code != 200 || len(api.Revisions) == 0 || api.Revisions[0].Author != "alice" {
		t.Errorf("GET /api/revisions: %d %v %s", code, err, body)
	}
}

// editedLines is the lines of b that are not in a, in order.
func editedLines(a, b string) []string {
	have := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		have[l]++
	}
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if have[l] > 0 {
			have[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}
