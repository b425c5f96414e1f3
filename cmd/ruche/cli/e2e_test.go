package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ruche-box/ruche/provision"
)

// The panel end to end, in a real browser (Debian's headless Chromium)
// against a real `ruche up` on the demo pack: the first admin's setup
// link, logging out and in, a member's ticket answered by a technician and
// resolved, the language switch, an admin's edit of a mail alias and the
// pack revision it makes, and the pages at a phone's width. Every
// step checks what the page shows; the screenshots of the pages looked at
// are docs/screenshots/ (RUCHE_SCREENSHOTS=docs/screenshots regenerates
// them, see its README).
func TestE2EPanel(t *testing.T) {
	needChromium(t)
	root := boxRoot(t)
	withSecrets(t, root)
	raw, err := os.ReadFile(filepath.Join(examples, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	u := startUp(t, root, writePack(t, t.TempDir(), "pack.yaml", string(raw)))
	_, port, _ := strings.Cut(u.http, ":")
	// Chromium resolves *.localhost to the loopback address by itself, and
	// the panel answers to panel.localhost under a development root.
	base := "http://panel.localhost:" + port

	var link string
	eventually(t, 10*time.Second, "ruche up printed no setup link", func() bool {
		m := regexp.MustCompile(`sets the password of alice: (http://panel\.localhost:` + port + `/setup/[A-Za-z0-9_-]{43})\s`).
			FindStringSubmatch(u.stdout.String())
		if m != nil {
			link = m[1]
		}
		return m != nil
	})
	// The member and the technician were given their passwords by an
	// admin, with the command line.
	const (
		alicePassword = "la ruche du café est ouverte"
		bobPassword   = "bob répare les vélos"
		techPassword  = "tech1 a une clé à molette"
	)
	setPassword(t, root, "bob", bobPassword)
	setPassword(t, root, "tech1", techPassword)

	b := startBrowser(t)
	alice := b.person("alice", base)
	bob := b.person("bob", base)
	tech := b.person("tech1", base)
	people := []*person{alice, bob, tech}

	t.Run("1 first admin setup", func(t *testing.T) {
		alice.t = t
		alice.open(link, 200)
		alice.heading("fr", "Premier accès")
		if got := eval[string](alice, `document.getElementById("login").value`); got != "alice" {
			t.Errorf("setup page: login %q, want alice", got)
		}
		alice.shot("setup")
		alice.typeIn("#password", alicePassword)
		alice.typeIn("#confirm", alicePassword)
		alice.submit("main form button[type=submit]", 200)
		if p := alice.path(); p != "/" {
			t.Errorf("after setup alice is at %s, want /", p)
		}
		alice.heading("fr", "Tableau de bord")
		alice.sees("header.top", "Connecté·e : alice", "Journal")
		alice.sees("main", "Services", "php-fpm")
		alice.shot("dashboard")
		alice.onPhone("dashboard-phone")
	})

	t.Run("2 logout and login", func(t *testing.T) {
		alice.t = t
		alice.submit("form.logout button", 200)
		alice.heading("fr", "Connexion")
		// The session is gone: the dashboard sends back to the login page.
		alice.open("/", 200)
		if p := alice.path(); p != "/login" {
			t.Errorf("after logout / leads to %s, want /login", p)
		}
		// A wrong password is refused, in words, and keeps the login typed.
		alice.typeIn("#login", "alice")
		alice.typeIn("#password", "pas le bon mot de passe")
		alice.submit("main form button[type=submit]", 401)
		alice.sees("[role=alert]", "identifiant ou mot de passe incorrect")
		alice.shot("login-refused")
		alice.typeIn("#password", alicePassword)
		alice.submit("main form button[type=submit]", 200)
		alice.heading("fr", "Tableau de bord")
	})

	var ticketPath string
	const (
		title       = "L'imprimante du local ne répond plus"
		description = "Depuis lundi, rien ne sort ; le voyant clignote en orange."
	)
	t.Run("3 member opens a ticket", func(t *testing.T) {
		bob.t = t
		bob.open("/", 200)
		bob.typeIn("#login", "bob")
		bob.typeIn("#password", bobPassword)
		bob.submit("main form button[type=submit]", 200)
		bob.heading("fr", "Bonjour Bob Durand")
		// A member has no dashboard and no audit log.
		bob.sees("header.top", "Tickets", "Mon compte")
		if strings.Contains(bob.text("header.top"), "Journal") {
			t.Error("a member's menu shows the audit log")
		}
		bob.submit(`nav a[href="/tickets"]`, 200)
		bob.heading("fr", "Tickets d'intervention")
		bob.sees("main", "Aucun ticket.")
		bob.submit(`main a[href="/tickets/new"]`, 200)
		bob.heading("fr", "Ouvrir un ticket")
		bob.typeIn("#title", title)
		bob.typeIn("#body", description)
		bob.choose("#category", "computer")
		bob.choose("#urgency", "high")
		bob.shot("ticket-new")
		bob.submit("main form button[type=submit]", 200)
		ticketPath = bob.path()
		if !regexp.MustCompile(`^/tickets/[0-9]+$`).MatchString(ticketPath) {
			t.Fatalf("after opening a ticket bob is at %s", ticketPath)
		}
		bob.sees("h1", title)
		bob.sees("main", "par bob", "Catégorie : ordinateur · urgence : haute · statut : nouveau", description, "Personne ne suit encore ce ticket.")
		bob.open("/tickets", 200)
		bob.sees("main table", title, "nouveau", "haute")
		bob.shot("tickets-member")
		bob.onPhone("")
	})
	if ticketPath == "" {
		t.FailNow()
	}
	id := strings.TrimPrefix(ticketPath, "/tickets/")

	const answer = "Le câble USB était débranché ; je l'ai rebranché. Pouvez-vous réessayer ?"
	t.Run("4 technician answers", func(t *testing.T) {
		tech.t = t
		tech.open("/login", 200)
		tech.typeIn("#login", "tech1")
		tech.typeIn("#password", techPassword)
		tech.submit("main form button[type=submit]", 200)
		tech.heading("fr", "Tableau de bord")
		tech.sees("main", "Tickets ouverts : 1")
		tech.submit(`nav a[href="/tickets"]`, 200)
		tech.sees("main table", title, "bob", "nouveau")
		tech.submit(`main table a[href="`+ticketPath+`"]`, 200)
		tech.sees("h1", title)
		// Assign it to themself.
		tech.choose("#assignee", "tech1")
		tech.submit(`form[action="`+ticketPath+`"] button[type=submit]`, 200)
		tech.sees("main", "Suivi par tech1")
		// Answer, with the time it took.
		tech.typeIn("#comment", answer)
		tech.typeIn("#comment-minutes", "20")
		tech.submit(`form[action="`+ticketPath+`/comments"] button[type=submit]`, 200)
		tech.sees("section[aria-labelledby=h-thread]", "tech1", answer, "temps passé : 20 min")
		// And wait for the member.
		tech.choose("#status", "waiting")
		tech.submit(`form[action="`+ticketPath+`"] button[type=submit]`, 200)
		tech.sees("main", "statut : en attente", "Suivi par tech1")
		tech.shot("ticket-technician")
		tech.onPhone("ticket-technician-phone")
	})

	const reply = "Merci, ça imprime de nouveau !"
	t.Run("5 member reads and replies", func(t *testing.T) {
		bob.t = t
		bob.open(ticketPath, 200)
		bob.sees("main", "statut : en attente", "Suivi par tech1", answer)
		// A member sees no handling form and no diagnostic.
		if n := eval[int](bob, `document.querySelectorAll("#status, #assignee, #diagnostic").length`); n != 0 {
			t.Errorf("the member's ticket page has %d staff controls", n)
		}
		bob.typeIn("#comment", reply)
		bob.submit(`form[action="`+ticketPath+`/comments"] button[type=submit]`, 200)
		bob.sees("section[aria-labelledby=h-thread]", answer, "bob", reply)
	})

	t.Run("6 technician resolves", func(t *testing.T) {
		tech.t = t
		tech.open(ticketPath, 200)
		tech.sees("section[aria-labelledby=h-thread]", reply)
		tech.choose("#status", "resolved")
		tech.submit(`form[action="`+ticketPath+`"] button[type=submit]`, 200)
		tech.sees("main", "statut : résolu")

		bob.t = t
		bob.open("/tickets", 200)
		bob.sees("main table", title, "résolu")
		bob.open(ticketPath, 200)
		bob.sees("main", "statut : résolu", "temps passé : 20 min")
		bob.shot("ticket-resolved-member")
		bob.onPhone("")
	})

	t.Run("7 language switch", func(t *testing.T) {
		bob.t = t
		bob.submit(`footer button[value=en]`, 200)
		if p := bob.path(); p != ticketPath {
			t.Errorf("after the switch bob is at %s, want %s", p, ticketPath)
		}
		bob.heading("en", "Ticket #"+id+": "+title)
		bob.sees("header.top", "Home", "My account", "Log out")
		bob.sees("main", "status: resolved")
		bob.shot("ticket-english")
		bob.submit(`footer button[value=fr]`, 200)
		bob.heading("fr", "Ticket n°"+id+" : "+title)
		bob.sees("header.top", "Accueil", "Mon compte")
		// The choice is the person's own: alice's pages stay in French.
		alice.t = t
		alice.open("/", 200)
		alice.heading("fr", "Tableau de bord")
	})

	t.Run("8 admin edits an alias", func(t *testing.T) {
		alice.t = t
		const alias = "contact@cafe-anais.org"
		alice.open("/", 200)
		alice.submit(`nav a[href="/aliases"]`, 200)
		alice.heading("fr", "Adresses mail")
		alice.sees("main table", alias, "alice@example.org, bob@example.net")
		alice.shot("aliases")
		alice.submit(`main table a[href="/aliases/`+alias+`"]`, 200)
		alice.heading("fr", "Alias "+alias)
		if got := eval[string](alice, `document.getElementById("to").value`); got != "alice@example.org\nbob@example.net" {
			t.Errorf("the alias's form shows recipients %q", got)
		}
		// Claire joins: one recipient per line.
		alice.do("clears #to", chromedp.Clear(chromedp.CSS("#to"), chromedp.NodeVisible))
		alice.typeIn("#to", "alice@example.org\nbob@example.net\nclaire@example.org")
		alice.shot("alias-edit")
		alice.submit("main form button[type=submit]", 200)
		m := regexp.MustCompile(`^/aliases\?rev=([0-9]+)$`).FindStringSubmatch(alice.path())
		if m == nil {
			t.Fatalf("after saving the alias alice is at %s, want /aliases?rev=N", alice.path())
		}
		rev := m[1]
		alice.sees("[role=status]", "Révision "+rev+" appliquée.")
		alice.sees("main table", alias, "alice@example.org, bob@example.net, claire@example.org")
		// The box runs it: the live pack has the new recipient.
		live, err := os.ReadFile(filepath.Join(root, provision.PackPath))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(live), "claire@example.org") || !strings.Contains(string(live), alias) {
			t.Errorf("the live pack lacks the edited alias:\n%s", live)
		}

		// The revision, its number and its author, in the list…
		alice.submit(`nav a[href="/revisions"]`, 200)
		alice.heading("fr", "Révisions du pack")
		row := eval[string](alice, `(() => {
			for (const tr of document.querySelectorAll("main table tbody tr")) {
				if (tr.cells[0].querySelector("a").textContent.trim() === "`+rev+`") return tr.innerText.replace(/\s+/g, " ");
			}
			return "";
		})()`)
		for _, w := range []string{"en service", "alice", "alias modifié / alias changed: " + alias} {
			if !strings.Contains(row, w) {
				t.Errorf("revisions page: the row of revision %s shows no %q: %q", rev, w, row)
			}
		}
		alice.shot("revisions")
		// …and on its own page, with what changed.
		alice.submit(`main table a[href="/revisions/`+rev+`"]`, 200)
		alice.heading("fr", "Révision "+rev)
		alice.sees("dl.facts", "alice", "en service", "alias modifié / alias changed: "+alias)
		alice.sees("pre.diff .add", "claire@example.org")
		if n := eval[int](alice, `document.querySelectorAll("pre.diff .del").length`); n != 1 {
			t.Errorf("revision %s's diff removes %d lines, want 1 (the old recipients' line)", rev, n)
		}
		alice.shot("revision")
		alice.onPhone("revision-phone")

		// A member may not edit the pack.
		bob.t = t
		bob.open("/aliases", 403)
	})

	t.Run("console", func(t *testing.T) {
		// The watch on the console can fail: a probe breaks the policy on
		// purpose (an inline script), the browser must refuse to run it
		// and the violation must be seen.
		probe := b.person("probe", base)
		probe.t = t
		probe.open("/login", 200)
		ran := eval[bool](probe, `(() => {
			window.inlineRan = false;
			const s = document.createElement("script");
			s.textContent = "window.inlineRan = true";
			document.body.append(s);
			return window.inlineRan;
		})()`)
		if ran {
			t.Error("an inline script ran: the Content Security Policy is not enforced")
		}
		eventually(t, 5*time.Second, "the probe's CSP violation never reached its console", func() bool {
			return len(probe.cspViolations()) > 0
		})
		t.Logf("the probe's violation, as seen: %s", probe.cspViolations()[0])

		// And the phone check can fail: a block wider than the phone
		// (set through the CSSOM, which the policy allows) is caught.
		probe.phone(true)
		eval[bool](probe, `(() => {
			const d = document.createElement("div");
			d.id = "too-wide";
			d.style.width = "600px";
			document.querySelector("main").append(d);
			return true;
		})()`)
		if f := probe.fit(); f.fits() || !strings.HasPrefix(f.Wide, "div#too-wide") {
			t.Errorf("a 600 px block on a %d px phone went unseen: %+v", phoneWidth, f)
		}
		probe.phone(false)

		for _, p := range people {
			p.t = t
			p.cleanConsole()
		}
	})
}
