package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchenv"
)

// Logins of the pack: the staff, and the members m001, m002...
const (
	adminLogin = "alice"
	techLogin  = "tech1"
)

func memberLogin(i int) string { return fmt.Sprintf("m%03d", i+1) }

// password is a user's password: long enough for the panel, different
// for each.
func password(login string) string { return "banc-d-essai-" + login + "-2026" }

// packYAML is the measured box: panel users only, TLS off, no wiki and no
// mail (the figures are the panel's, with nothing else to supervise).
func packYAML(members int) string {
	var b strings.Builder
	b.WriteString(`apiVersion: ruche/v1
kind: Pack
association: {name: "Banc d'essai", slug: banc, locale: fr, contact: contact@banc.example}
box: {hostname: banc, tls: "off"}
panel:
  users:
    - {login: alice, name: Alice, role: admin, email: alice@example.org}
    - {login: tech1, name: Technicienne, role: technician}
`)
	for i := range members {
		fmt.Fprintf(&b, "    - {login: %s, name: Membre %d, role: member}\n", memberLogin(i), i+1)
	}
	return b.String()
}

func bench(ctx context.Context, o *options) (res *result, err error) {
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "benchpanel-"); err != nil {
			return nil, err
		}
		if !o.keep {
			defer os.RemoveAll(o.work)
		}
	}
	if o.work, err = filepath.Abs(o.work); err != nil {
		return nil, err
	}
	if o.ruche, err = filepath.Abs(o.ruche); err != nil {
		return nil, err
	}
	root, home := filepath.Join(o.work, "root"), filepath.Join(o.work, "home")
	for _, d := range []string{root, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	packFile := filepath.Join(o.work, "pack.yaml")
	if err := os.WriteFile(packFile, []byte(packYAML(o.members)), 0o644); err != nil {
		return nil, err
	}
	httpAddr, err := benchenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	smtpAddr, err := benchenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	res = &result{
		machine: benchenv.Machine(), loadBefore: benchenv.Loadavg(), rucheVersion: benchenv.FirstLine(ctx, o.ruche, "version"),
		date:    time.Now().UTC().Format("2006-01-02"),
		members: o.members, tickets: o.tickets, sessions: o.sessions, requests: o.requests, writers: o.writers,
	}

	// The users and their passwords, before the daemon starts: as a
	// technician preparing a box would.
	t0 := time.Now()
	if err := runRuche(ctx, o.ruche, home, "", "apply", "--lang", "en", "--root", root, packFile); err != nil {
		return nil, err
	}
	logins := []string{adminLogin, techLogin}
	for i := range o.members {
		logins = append(logins, memberLogin(i))
	}
	for _, l := range logins {
		if err := runRuche(ctx, o.ruche, home, password(l)+"\n", "user", "passwd", "--lang", "en", "--root", root, l); err != nil {
			return nil, err
		}
	}
	logf("apply and %d passwords in %v", len(logins), time.Since(t0).Round(time.Millisecond))

	logf("ruche up --root %s --http %s --smtp %s", root, httpAddr, smtpAddr)
	up, err := startUp(o.ruche, root, home, httpAddr, smtpAddr, packFile, filepath.Join(o.work, "ruche-up.log"))
	if err != nil {
		return nil, err
	}
	defer up.stop(30 * time.Second)
	started := time.Now()
	if err := up.waitHealthz(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	res.ready = time.Since(started)
	// Idle: the first apply and the first usage sample are done a few
	// seconds after the panel answers.
	if err := sleep(ctx, 5*time.Second); err != nil {
		return nil, err
	}
	if res.idle, err = up.measure(); err != nil {
		return nil, err
	}
	logf("idle: %s", res.idle)

	if res.opened, err = openTickets(ctx, httpAddr, o); err != nil {
		return nil, err
	}
	logf("%d tickets, %d comments, %d status changes in %v", o.tickets, res.opened.comments, res.opened.changes, res.opened.took.Round(time.Millisecond))
	if err := sleep(ctx, 5*time.Second); err != nil {
		return nil, err
	}
	if res.withTickets, err = up.measure(); err != nil {
		return nil, err
	}
	logf("with the tickets: %s", res.withTickets)

	dashboard := page{"dashboard `/`", "/", "staff"}
	staffList := page{"ticket list `/tickets`, staff (first page of 50)", "/tickets", "staff"}
	memberList := page{"ticket list `/tickets`, member (their own)", "/tickets", "member"}
	pages := []page{dashboard, staffList, memberList}
	planOf := func(s *session) []page {
		if s.role == "member" {
			return []page{memberList}
		}
		return []page{dashboard, staffList}
	}

	// One session alone first, for reference; the first requests warm
	// the caches (templates, SQLite's pages) and are not counted.
	tech, err := newSession(ctx, httpAddr, techLogin, password(techLogin), "staff")
	if err != nil {
		return nil, err
	}
	member, err := newSession(ctx, httpAddr, memberLogin(0), password(memberLogin(0)), "member")
	if err != nil {
		return nil, err
	}
	if _, _, err := load(ctx, []*session{tech, member}, 4, planOf, pages, nil); err != nil {
		return nil, err
	}
	for _, one := range []struct {
		s    *session
		plan plan
		page page
	}{
		{tech, func(*session) []page { return []page{dashboard} }, dashboard},
		{tech, func(*session) []page { return []page{staffList} }, staffList},
		{member, func(*session) []page { return []page{memberList} }, memberList},
	} {
		r, _, err := load(ctx, []*session{one.s}, o.requests, one.plan, []page{one.page}, nil)
		if err != nil {
			return nil, err
		}
		res.alone = append(res.alone, r)
		logf("alone, %s: p50 %v p99 %v", one.page.name, r.pages[0].percentile(0.5), r.pages[0].percentile(0.99))
	}

	// The sessions of the load: a fifth staff (admin and technician in
	// turn, several sessions each, as on several computers), the rest
	// members, each its own login.
	staffN := max(1, o.sessions/5)
	var sessions []*session
	for i := range o.sessions {
		login, role := memberLogin((i-staffN)%o.members), "member"
		if i < staffN {
			login, role = adminLogin, "staff"
			if i%2 == 1 {
				login = techLogin
			}
		}
		s, err := newSession(ctx, httpAddr, login, password(login), role)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, s)
	}
	res.staffSessions = staffN
	res.loadBefore2 = benchenv.Loadavg()
	if res.load, res.peak, err = load(ctx, sessions, o.requests, planOf, pages, up.measure); err != nil {
		return nil, err
	}
	n, failed := res.load.total()
	logf("load: %d requests in %v (%.0f/s), %d failed", n, res.load.took.Round(time.Millisecond), float64(n)/res.load.took.Seconds(), failed)
	if res.after, err = up.measure(); err != nil {
		return nil, err
	}
	logf("peak %s; after %s", res.peak, res.after)
	if up.exited() {
		return nil, fmt.Errorf("ruche up exited during the measurement; its log:\n%s", benchenv.Tail(up.logPath, 20))
	}
	res.loadAfter = benchenv.Loadavg()
	return res, nil
}

// opened is how the tickets were opened.
type opened struct {
	comments, changes int
	took              time.Duration
}

// openTickets opens o.tickets tickets through the API, each by a member
// in turn, with the member's comment and the technician's answer; one in
// three moves to in_progress. o.writers clients work in parallel, each
// on its own tickets.
func openTickets(ctx context.Context, addr string, o *options) (opened, error) {
	var out opened
	if o.tickets == 0 {
		return out, nil
	}
	members := make([]*session, o.members)
	for i := range members {
		s, err := newSession(ctx, addr, memberLogin(i), password(memberLogin(i)), "member")
		if err != nil {
			return out, err
		}
		members[i] = s
	}
	techs := make([]*session, o.writers)
	for i := range techs {
		s, err := newSession(ctx, addr, techLogin, password(techLogin), "staff")
		if err != nil {
			return out, err
		}
		techs[i] = s
	}
	categories := []string{"wiki", "sites", "mail", "backups", "computer", "other"}
	urgencies := []string{"low", "normal", "high"}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range o.writers {
		wg.Go(func() {
			for i := w; i < o.tickets && ctx.Err() == nil; i += o.writers {
				m := members[i%len(members)]
				comments, changes, err := openOne(ctx, m, techs[w], i, categories[i%len(categories)], urgencies[i%len(urgencies)])
				mu.Lock()
				out.comments += comments
				out.changes += changes
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	out.took = time.Since(t0)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

func openOne(ctx context.Context, member, tech *session, i int, category, urgency string) (comments, changes int, err error) {
	id, err := member.postJSON(ctx, http.MethodPost, "/api/tickets", map[string]string{
		"title":    fmt.Sprintf("Ticket %d : l'imprimante de l'accueil ne répond plus", i+1),
		"body":     "Depuis ce matin, l'imprimante de l'accueil affiche une erreur et plus rien ne sort. Nous avons éteint et rallumé, sans effet.",
		"category": category, "urgency": urgency,
	}, http.StatusCreated)
	if err != nil {
		return 0, 0, err
	}
	if id == 0 {
		return 0, 0, fmt.Errorf("ticket %d: no id in the answer", i+1)
	}
	path := fmt.Sprintf("/api/tickets/%d", id)
	if _, err := tech.postJSON(ctx, http.MethodPost, path+"/comments", map[string]string{"body": "Bonjour, pouvez-vous nous dire quel message affiche l'imprimante ?"}, http.StatusCreated); err != nil {
		return 0, 0, err
	}
	if _, err := member.postJSON(ctx, http.MethodPost, path+"/comments", map[string]string{"body": "Elle affiche « bourrage papier » mais il n'y a pas de papier coincé."}, http.StatusCreated); err != nil {
		return 1, 0, err
	}
	if i%3 == 0 {
		if _, err := tech.postJSON(ctx, http.MethodPatch, path, map[string]string{"status": "in_progress", "assignee": techLogin}, http.StatusOK); err != nil {
			return 2, 0, err
		}
		return 2, 1, nil
	}
	return 2, 0, nil
}
