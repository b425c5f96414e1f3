package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/mail/mailtest"
)

// Intervention tickets through the real binary and the box's real mail: a
// member opens a ticket with the API, the admins and technicians get the
// "opened" mail; a technician answers and the member's mail arrives at the
// relay, with the ticket's link.
func TestTicketMailUp(t *testing.T) {
	b := startMailBox(t, "")
	_, port, _ := strings.Cut(b.http, ":")
	base := "http://panel.localhost:" + port

	// A technician joins through the live pack, as an edit would: the
	// daemon's file watcher applies it.
	live := filepath.Join(b.root, provision.PackPath)
	raw, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	bobLine := "    - {login: bob, role: member, email: bob@members.test}\n"
	if !strings.Contains(string(raw), bobLine) {
		t.Fatalf("the mail pack changed; no %q in:\n%s", bobLine, raw)
	}
	edited := strings.Replace(string(raw), bobLine, bobLine+"    - {login: tech1, role: technician, email: tech1@support.test}\n", 1)
	tmp := live + ".tmp"
	if err := os.WriteFile(tmp, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, live); err != nil {
		t.Fatal(err)
	}
	passwd := func(login, password string) error {
		cmd := exec.Command(rucheBin, "user", "passwd", login, "--lang", "en", "--root", b.root)
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("user passwd %s: %v\n%s", login, err, out)
		}
		return err
	}
	if err := passwd("bob", "bob's password here"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "tech1 never became a user of the box", func() bool {
		return passwd("tech1", "tech1's password here") == nil
	})

	api := boxClient(b.http, nil, false)
	call := func(cookie, method, path, body string, out any) int {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := api.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %v\n%s", method, path, resp.StatusCode, err, data)
			}
		}
		if m := regexp.MustCompile(`ruche_session=([^;]+)`).FindStringSubmatch(resp.Header.Get("Set-Cookie")); m != nil && out != nil {
			if s, ok := out.(*session); ok {
				s.cookie = "ruche_session=" + m[1]
			}
		}
		return resp.StatusCode
	}
	login := func(who, password string) string {
		t.Helper()
		var s session
		body, _ := json.Marshal(map[string]string{"login": who, "password": password})
		var code int
		// The pack edit may still be applying: a login right after it can
		// meet a reload.
		eventually(t, 20*time.Second, who+" cannot log in", func() bool {
			code = call("", "POST", "/api/session", string(body), &s)
			return code == 200 && s.cookie != ""
		})
		return s.cookie
	}
	bob := login("bob", "bob's password here")

	var tk struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if code := call(bob, "POST", "/api/tickets", `{"title":"The printer is offline","body":"Since Monday.","category":"computer"}`, &tk); code != 201 || tk.ID == 0 || tk.Status != "new" {
		t.Fatalf("POST /api/tickets as bob: %d %+v", code, tk)
	}
	id := strconv.FormatInt(tk.ID, 10)
	link := base + "/tickets/" + id
	// Staff are told: the admin and the technician, not the member.
	opened := "[Ruche jardin] Ticket #" + id + " opened by bob: The printer is offline"
	waitDelivered(t, b.relay, opened, []string{"alice@members.test", "tech1@support.test"})

	tech := login("tech1", "tech1's password here")
	var cm struct {
		ID int64 `json:"id"`
	}
	if code := call(tech, "POST", "/api/tickets/"+id+"/comments", `{"body":"Its cable was out; plugged back in.","minutes":20}`, &cm); code != 201 || cm.ID == 0 {
		t.Fatalf("tech1 answers: %d", code)
	}
	answered := "[Ruche jardin] Reply to ticket #" + id + ": The printer is offline"
	waitDelivered(t, b.relay, answered, []string{"bob@members.test"})
	body := mailBody(t, b.relay.Messages(), answered)
	for _, want := range []string{"Its cable was out", link} {
		if !strings.Contains(body, want) {
			t.Errorf("bob's mail lacks %q:\n%s", want, body)
		}
	}

	// The member reads the answer; the thread and the time spent are there.
	var got struct {
		Status       string `json:"status"`
		MinutesSpent int    `json:"minutes_spent"`
		Comments     []struct{ Author, Body string }
	}
	if code := call(bob, "GET", "/api/tickets/"+id, "", &got); code != 200 || len(got.Comments) != 1 || got.Comments[0].Author != "tech1" || got.MinutesSpent != 20 {
		t.Errorf("bob reads his ticket: %d %+v", code, got)
	}
	var audit struct {
		Entries []struct{ Actor, Action string }
	}
	if code := call(tech, "GET", "/api/audit", "", &audit); code != 200 || len(audit.Entries) != 1 || audit.Entries[0].Actor != "tech1" || audit.Entries[0].Action != "comment" {
		t.Errorf("audit log: %d %+v", code, audit)
	}
	if code := call(bob, "GET", "/api/audit", "", nil); code != 403 {
		t.Errorf("bob reads the audit log: %d, want 403", code)
	}
}

type session struct {
	Login  string `json:"login"`
	cookie string
}

// mailBody is the decoded body of the message whose subject is subject.
func mailBody(t *testing.T, msgs []mailtest.Message, subject string) string {
	t.Helper()
	for _, m := range msgs {
		if !bytes.Contains(m.Data, []byte("Subject: "+subject+"\r\n")) {
			continue
		}
		_, body, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatalf("message %q: %v", subject, err)
		}
		return string(dec)
	}
	t.Fatalf("no message %q", subject)
	return ""
}
