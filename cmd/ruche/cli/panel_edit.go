package cli

import (
	"bytes"
	"context"
	"path/filepath"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/panel"
)

// noteRollback is the note of the revision that puts the previous pack back
// after a panel edit failed to apply.
const noteRollback = "retour automatique / automatic rollback"

var (
	msgEditRolledBack = i18n.M{
		FR: "la modification est valide mais n'a pas pu être appliquée ; la box a remis le pack d'avant en service",
		EN: "the change is valid but could not be applied; the box put the previous pack back",
	}
	msgEditNotRolledBack = i18n.M{
		FR: "la modification est valide mais n'a pas pu être appliquée, et remettre le pack d'avant a échoué aussi : voyez le journal de « ruche up »",
		EN: "the change is valid but could not be applied, and putting the previous pack back failed too: see the log of \"ruche up\"",
	}
)

// applyPanelPack is the panel's Options.ApplyPack: a pack edited in the
// panel goes the way of `ruche apply` (controlApply): validated with every
// error and its line, refused while a restore pauses the box, applied under
// the daemon's lock with the editor as author. When the apply fails after
// validation passed, the previous pack is applied again, so that the box
// and its live pack stay as they were, and the apply's error is returned.
func (d *daemon) applyPanelPack(ctx context.Context, raw []byte, author, note string) (provision.Revision, error) {
	if d.paused.Load() {
		return provision.Revision{}, i18n.Errorf(msgPausedApply)
	}
	live := filepath.Join(d.root, provision.PackPath)
	p, err := provision.Load(live, raw)
	if err != nil {
		return provision.Revision{}, err
	}
	d.mu.Lock()
	prev, prevRaw := d.pack, d.raw
	d.mu.Unlock()
	if bytes.Equal(raw, prevRaw) {
		return provision.Revision{}, panel.ErrUnchanged
	}
	if _, err := d.apply(ctx, p, raw, author, note); err != nil {
		// The admin is told in words what happened to the box; the
		// apply's own error follows (errors.Is/As still reach it).
		if prev != nil {
			if _, rerr := d.apply(ctx, prev, prevRaw, author, noteRollback); rerr != nil {
				d.log.Error("rollback after a failed panel edit failed too", "err", rerr)
				return provision.Revision{}, i18n.Wrap(err, msgEditNotRolledBack)
			}
			d.log.Warn("panel edit rolled back", "author", author, "note", note, "err", err)
			return provision.Revision{}, i18n.Wrap(err, msgEditRolledBack)
		}
		return provision.Revision{}, err
	}
	revs, err := provision.ListRevisions(d.root)
	if err != nil || len(revs) == 0 {
		return provision.Revision{}, err
	}
	return revs[len(revs)-1], nil
}
