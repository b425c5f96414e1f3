package store

import (
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

func TestAlerts(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	usb := provision.AlertBackupFailed

	if _, ok, err := db.Alert(ctx, usb, "usb"); err != nil || ok {
		t.Fatalf("Alert before any: ok %v err %v", ok, err)
	}
	if cleared, err := db.ClearAlert(ctx, usb, "usb", t0); err != nil || cleared {
		t.Fatalf("ClearAlert of nothing: %v %v", cleared, err)
	}

	st, already, err := db.OpenAlert(ctx, usb, "usb", "sauvegarde échouée", t0)
	if err != nil || already {
		t.Fatalf("first OpenAlert: already %v err %v", already, err)
	}
	if !st.Open() || !st.OpenedAt.Equal(t0) || !st.LastSent.IsZero() || st.Sent != 0 {
		t.Errorf("first OpenAlert: %+v", st)
	}
	if err := db.AlertSent(ctx, usb, "usb", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}

	// Open again: nothing written, the state as it was.
	st, already, err = db.OpenAlert(ctx, usb, "usb", "autre sujet", t0.Add(time.Hour))
	if err != nil || !already {
		t.Fatalf("second OpenAlert: already %v err %v", already, err)
	}
	if !st.OpenedAt.Equal(t0) || !st.LastSent.Equal(t0.Add(time.Second)) || st.Sent != 1 || st.Subject != "sauvegarde échouée" {
		t.Errorf("second OpenAlert: %+v", st)
	}

	// Another key is another problem.
	if _, already, err := db.OpenAlert(ctx, usb, "support", "", t0.Add(2*time.Hour)); err != nil || already {
		t.Fatalf("other key: already %v err %v", already, err)
	}

	cleared, err := db.ClearAlert(ctx, usb, "usb", t0.Add(24*time.Hour))
	if err != nil || !cleared {
		t.Fatalf("ClearAlert: %v %v", cleared, err)
	}
	if cleared, _ := db.ClearAlert(ctx, usb, "usb", t0.Add(25*time.Hour)); cleared {
		t.Error("ClearAlert twice: cleared again")
	}
	st, _, _ = db.Alert(ctx, usb, "usb")
	if st.Open() || !st.ClearedAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("after ClearAlert: %+v", st)
	}
	// A mail recorded after the clear does not touch the closed occurrence.
	if err := db.AlertSent(ctx, usb, "usb", t0.Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st2, _, _ := db.Alert(ctx, usb, "usb"); st2 != st {
		t.Errorf("AlertSent on a cleared problem changed it: %+v", st2)
	}

	list, err := db.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != "support" || list[1].Key != "usb" {
		t.Errorf("Alerts: open first, then cleared: %+v", list)
	}

	// It comes back: a new occurrence in the same row.
	t1 := t0.Add(48 * time.Hour)
	st, already, err = db.OpenAlert(ctx, usb, "usb", "de nouveau", t1)
	if err != nil || already {
		t.Fatalf("reopen: already %v err %v", already, err)
	}
	st, _, _ = db.Alert(ctx, usb, "usb")
	if !st.Open() || !st.OpenedAt.Equal(t1) || !st.LastSent.IsZero() || st.Sent != 0 || st.Subject != "de nouveau" {
		t.Errorf("reopened: %+v", st)
	}
}
