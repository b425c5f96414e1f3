package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
	"github.com/ruche-box/ruche/services/mail/mailtest"
	"github.com/ruche-box/ruche/services/mail/notify"
)

func testPack(locale string) *provision.Pack {
	return &provision.Pack{
		Association: provision.Association{Name: "Café d'ANAIS", Slug: "cafe-anais", Locale: locale},
		Box:         provision.Box{Hostname: "cafe-anais"},
		Panel: provision.Panel{Users: []provision.User{
			{Login: "alice", Role: provision.RoleAdmin, Email: "alice@example.org"},
			{Login: "bob", Role: provision.RoleMember, Email: "bob@example.org"},
			{Login: "tech1", Role: provision.RoleTechnician},
			{Login: "tech2", Role: provision.RoleTechnician, Email: "tech2@example.net"},
			{Login: "alice2", Role: provision.RoleTechnician, Email: "ALICE@example.org"},
		}},
	}
}

var msgBackupFailedSubject = i18n.M{FR: "Sauvegarde échouée : %s", EN: "Backup failed: %s"}
var msgBackupFailedBody = i18n.M{FR: "La sauvegarde vers « %s » a échoué.", EN: "The backup to \"%s\" failed."}

func backupFailed(target string) provision.Alert {
	return provision.Alert{
		Kind:    provision.AlertBackupFailed,
		Key:     target,
		Subject: i18n.T(msgBackupFailedSubject, target),
		Body:    i18n.T(msgBackupFailedBody, target),
	}
}

// fixture is an Alerter on a fresh database, sending to a sink, with a
// clock the test moves.
type fixture struct {
	sink   *mailtest.Sink
	dbPath string
	db     *store.DB
	clock  time.Time
	a      *notify.Alerter
	pack   *provision.Pack
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		sink:   mailtest.Start(t, mailtest.Options{}),
		dbPath: filepath.Join(t.TempDir(), "ruche.db"),
		clock:  time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC),
		pack:   testPack(""),
	}
	f.open(t)
	return f
}

// open (re)opens the database and makes a new Alerter on it, as a restart
// of the box would.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := store.Open(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	client := &notify.Client{Addr: f.sink.Addr(), From: "Ruche <ruche@cafe-anais.local>", Timeout: 5 * time.Second}
	f.a = notify.NewAlerter(client, db, func() (*provision.Pack, error) { return f.pack, nil })
	f.a.Now = func() time.Time { return f.clock }
	f.a.Log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	return len(f.sink.Messages())
}

func TestRaiseOncePerProblem(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("after the first Raise: %d mails, want 1", n)
	}
	m := f.sink.Messages()[0]
	if !slices.Equal(m.To, []string{"alice@example.org", "tech2@example.net"}) {
		t.Errorf("recipients %v: want the admins and technicians with an address, once each", m.To)
	}
	msg, body := parse(t, m.Data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[Ruche cafe-anais] Sauvegarde échouée : usb" {
		t.Errorf("subject %q", subject)
	}
	if !strings.HasPrefix(body, "La sauvegarde vers « usb » a échoué.\r\n") || !strings.Contains(body, "rappel toutes les 24 h") {
		t.Errorf("body %q", body)
	}
	if msg.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Error("an alert without Auto-Submitted")
	}

	// Raised again, an hour later: nothing sent, nothing written.
	wal := walSize(t, f.dbPath)
	f.clock = f.clock.Add(time.Hour)
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 1 {
		t.Errorf("after a second Raise: %d mails, want 1", n)
	}
	if got := walSize(t, f.dbPath); got != wal {
		t.Errorf("a second Raise wrote to the database (WAL %d -> %d bytes)", wal, got)
	}

	// Another key is another problem.
	if err := f.a.Raise(ctx, backupFailed("support")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 2 {
		t.Errorf("another target: %d mails, want 2", n)
	}

	// Cleared, then back: mailed again.
	if err := f.a.Clear(ctx, provision.AlertBackupFailed, "usb"); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 2 {
		t.Errorf("Clear sent a mail: %d, want 2", n)
	}
	if err := f.a.Clear(ctx, provision.AlertBackupFailed, "usb"); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 3 {
		t.Errorf("Clear then Raise: %d mails, want 3", n)
	}
}

// walSize is the size of the database and its write-ahead log: a write
// grows the log until a checkpoint, which only follows writes.
func walSize(t *testing.T, db string) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{db, db + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func TestRaiseStateSurvivesReopening(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	f.db.Close()
	f.open(t) // the box restarts
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 1 {
		t.Errorf("Raise after reopening: %d mails, want 1", n)
	}
	if err := f.a.Clear(ctx, provision.AlertBackupFailed, "usb"); err != nil {
		t.Fatal(err)
	}
	f.db.Close()
	f.open(t)
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 2 {
		t.Errorf("Clear, reopen, Raise: %d mails, want 2", n)
	}
}

func TestRaiseReminder(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.pack = testPack("en")
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	f.clock = f.clock.Add(notify.DefaultReminder - time.Minute)
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("before the reminder is due: %d mails, want 1", n)
	}
	f.clock = f.clock.Add(2 * time.Minute)
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	msgs := f.sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("after a day: %d mails, want 2 (a reminder)", len(msgs))
	}
	msg, body := parse(t, msgs[1].Data)
	if got := msg.Header.Get("Subject"); got != "[Ruche cafe-anais] Reminder: Backup failed: usb" {
		t.Errorf("reminder subject %q", got)
	}
	if !strings.Contains(body, "a reminder every 24 h") {
		t.Errorf("body %q", body)
	}
	// The next reminder counts from this one.
	f.clock = f.clock.Add(time.Hour)
	f.a.Raise(ctx, backupFailed("usb"))
	if n := f.count(t); n != 2 {
		t.Errorf("an hour after the reminder: %d mails, want 2", n)
	}
	st, _, _ := f.db.Alert(ctx, provision.AlertBackupFailed, "usb")
	if st.Sent != 2 || !st.Open() {
		t.Errorf("state %+v: want open, 2 sent", st)
	}

	// Without reminders, never again.
	f.a.Reminder = -1
	f.clock = f.clock.Add(30 * 24 * time.Hour)
	f.a.Raise(ctx, backupFailed("usb"))
	if n := f.count(t); n != 2 {
		t.Errorf("reminders off: %d mails, want 2", n)
	}
}

func TestRaiseRetriesAfterAFailedSend(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	working := f.a.Sender
	f.a.Sender = &notify.Client{Addr: deadAddr(t), From: "ruche@box.local", Timeout: 5 * time.Second}
	err := f.a.Raise(ctx, backupFailed("usb"))
	if err == nil {
		t.Fatal("Raise with Postfix down: no error")
	}
	if en := i18n.Localize(err, i18n.EN); !strings.Contains(en, "alert backup-failed (usb) not sent: the box's mail service does not answer") {
		t.Errorf("error %q", en)
	}
	st, ok, _ := f.db.Alert(ctx, provision.AlertBackupFailed, "usb")
	if !ok || !st.Open() || !st.LastSent.IsZero() {
		t.Errorf("after a failed send: %+v, want open and unsent", st)
	}
	f.a.Sender = working
	f.clock = f.clock.Add(time.Minute)
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 1 {
		t.Errorf("Raise once Postfix is back: %d mails, want 1", n)
	}
}

func TestRaiseWithoutRecipients(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.pack = &provision.Pack{Panel: provision.Panel{Users: []provision.User{{Login: "tech1", Role: provision.RoleTechnician}}}}
	err := f.a.Raise(ctx, backupFailed("usb"))
	if !errors.Is(err, notify.ErrNoRecipients) {
		t.Fatalf("Raise with nobody to tell: %v, want ErrNoRecipients", err)
	}
	// Someone gets an address: the next Raise tells them.
	f.pack = testPack("")
	if err := f.a.Raise(ctx, backupFailed("usb")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
	// An explicit recipient needs no pack at all.
	f.a.Pack = nil
	al := backupFailed("support")
	al.To = []string{"support@example.net"}
	if err := f.a.Raise(ctx, al); err != nil {
		t.Fatal(err)
	}
	msgs := f.sink.Messages()
	if len(msgs) != 2 || !slices.Equal(msgs[1].To, []string{"support@example.net"}) {
		t.Fatalf("explicit To: %+v", msgs)
	}
	msg, _ := parse(t, msgs[1].Data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[Ruche ruche] Sauvegarde échouée : support" {
		t.Errorf("subject without a pack %q: want French and a generic box name", subject)
	}
}

func TestEventsAndKinds(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ticket := provision.Alert{
		Kind:    provision.AlertTicketAnswered,
		Key:     "42",
		Subject: i18n.T(i18n.M{FR: "Ticket %s : nouvelle réponse", EN: "Ticket %s: new answer"}, "42"),
		Body:    i18n.T(i18n.M{FR: "Réponse.", EN: "Answer."}),
	}
	if err := f.a.Raise(ctx, ticket); err == nil {
		t.Error("Raise of an event: no error (events go through Notify)")
	}
	for range 2 {
		if err := f.a.Notify(ctx, ticket); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(t); n != 2 {
		t.Errorf("two Notify: %d mails, want 2", n)
	}
	_, body := parse(t, f.sink.Messages()[0].Data)
	if strings.Contains(body, "une fois par problème") {
		t.Errorf("an event's mail speaks of problems: %q", body)
	}
	if list, _ := f.db.Alerts(ctx); len(list) != 0 {
		t.Errorf("Notify recorded state: %+v", list)
	}
	bad := backupFailed("usb")
	bad.Kind = "backup-exploded"
	if err := f.a.Raise(ctx, bad); err == nil {
		t.Error("unknown kind: no error")
	}
	if err := f.a.Clear(ctx, "backup-exploded", "usb"); err == nil {
		t.Error("Clear of an unknown kind: no error")
	}
}

func TestRaiseConcurrent(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- f.a.Raise(ctx, backupFailed("usb")) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := f.count(t); n != 1 {
		t.Errorf("8 concurrent Raise: %d mails, want 1", n)
	}
}

func TestNopAlerter(t *testing.T) {
	var a provision.Alerter = provision.NopAlerter{}
	if err := a.Raise(t.Context(), backupFailed("usb")); err != nil {
		t.Error(err)
	}
}
