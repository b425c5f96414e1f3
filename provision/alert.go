package provision

import (
	"context"
	"slices"

	"github.com/ruche-box/ruche/provision/i18n"
)

// AlertKind names what the box tells its admins and technicians about by
// mail. The values are stable: the box's database records open problems
// under them.
type AlertKind string

// Problems: they last until cleared, and each gets one mail (see Alerter).
const (
	AlertBackupFailed        AlertKind = "backup-failed"        // Key: the backup target's name
	AlertBackupDiskMissing   AlertKind = "backup-disk-missing"  // Key: the target's name (removable disk absent)
	AlertDiskFull            AlertKind = "disk-full"            // Key: the mount point
	AlertClockUnsynchronised AlertKind = "clock-unsynchronised" // Key: "" (one clock)
)

// Events: each is told once, when it happens (see Notifier).
const (
	AlertTicketOpened   AlertKind = "ticket-opened"   // Key: the ticket's id
	AlertTicketAnswered AlertKind = "ticket-answered" // Key: the ticket's id
	// A password reset link, to the one user who asked (Key: the login).
	AlertPasswordReset AlertKind = "password-reset"
)

// AlertKinds lists every kind, problems first.
var AlertKinds = []AlertKind{
	AlertBackupFailed, AlertBackupDiskMissing, AlertDiskFull, AlertClockUnsynchronised,
	AlertTicketOpened, AlertTicketAnswered, AlertPasswordReset,
}

// Valid reports whether k is one of AlertKinds.
func (k AlertKind) Valid() bool { return slices.Contains(AlertKinds, k) }

// Event reports whether k is an event (a ticket opened or answered, a
// password reset link), told every time, rather than a problem told once
// until it is cleared.
func (k AlertKind) Event() bool {
	return k == AlertTicketOpened || k == AlertTicketAnswered || k == AlertPasswordReset
}

// Alert is one problem or event to tell people about.
type Alert struct {
	Kind AlertKind
	// Key says what the alert is about within its kind: a backup target's
	// name, a mount point, a ticket's id. Kind and Key together are one
	// problem: raising it again while it lasts sends nothing.
	Key string
	// Subject and Body are formatted in the pack's locale (French unless
	// association.locale says en) when the mail is written.
	Subject i18n.Text
	Body    i18n.Text
	// To are the recipients; empty means the admins and technicians of the
	// live pack (panel.users with an e-mail address).
	To []string
}

// Alerter tells about problems, once each. Services (backup, health)
// depend on this interface, not on the mail service: the daemon wires in
// the real one (services/mail/notify), tests and mail-less boxes a fake or
// NopAlerter.
type Alerter interface {
	// Raise says the problem is present. The first Raise of a problem
	// sends a mail; further ones, while it is not cleared, send nothing
	// (the implementation may remind after a long while).
	Raise(ctx context.Context, a Alert) error
	// Clear says the problem (kind, key) is gone: the next Raise of it
	// sends a mail again. Clearing what is not open does nothing.
	Clear(ctx context.Context, kind AlertKind, key string) error
}

// Notifier tells about events (a ticket opened or answered): every call
// sends.
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// NopAlerter drops every alert: for boxes or tests without mail.
type NopAlerter struct{}

func (NopAlerter) Raise(context.Context, Alert) error             { return nil }
func (NopAlerter) Clear(context.Context, AlertKind, string) error { return nil }
func (NopAlerter) Notify(context.Context, Alert) error            { return nil }

var (
	_ Alerter  = NopAlerter{}
	_ Notifier = NopAlerter{}
)
