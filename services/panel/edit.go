package panel

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/packedit"
)

// Panel edits are pack revisions: the page changes the live pack's YAML
// as nodes (provision/packedit keeps its comments and layout), the daemon
// validates and applies the result as `ruche apply` would, with the
// session's login as the revision's author. Nothing in the panel writes the
// box's configuration any other way.

var (
	msgEditsOff = i18n.M{
		FR: "les modifications depuis le panneau sont désactivées sur cette box : modifiez le pack puis lancez « ruche apply »",
		EN: "edits from the panel are off on this box: edit the pack, then run \"ruche apply\"",
	}
	msgEditNoPack = i18n.M{
		FR: "le pack en service (%s) est illisible : %v",
		EN: "the live pack (%s) cannot be read: %v",
	}
	msgEditUnchanged = i18n.M{
		FR: "rien n'a changé : le pack est déjà ainsi, aucune révision n'a été ajoutée",
		EN: "nothing changed: the pack already says so, no revision was added",
	}
)

// ErrUnchanged is the answer to an edit that leaves the pack as it was:
// no revision is added. ApplyPack returns it for identical bytes.
var ErrUnchanged error = i18n.Errorf(msgEditUnchanged)

var errEditsOff error = i18n.Errorf(msgEditsOff)

// livePackPath is where the live pack is under the box's root.
func (p *Panel) livePackPath() string {
	return filepath.Join(p.opts.Root, filepath.FromSlash(provision.PackPath))
}

// editPack reads the live pack, applies edit to it as yaml nodes, and
// applies the result as a new revision whose author is the session's
// login and whose note says what was done. Edits are serialized. A
// validation or apply error comes back localizable (provision.ErrorList,
// i18n.Error); the live pack then stays as it was.
func (p *Panel) editPack(ctx context.Context, author, note string, edit func(*packedit.Doc) error) (provision.Revision, error) {
	if p.opts.ApplyPack == nil || p.opts.Root == "" {
		return provision.Revision{}, errEditsOff
	}
	p.editMu.Lock()
	defer p.editMu.Unlock()
	live := p.livePackPath()
	raw, err := os.ReadFile(live)
	if err != nil {
		return provision.Revision{}, i18n.Errorf(msgEditNoPack, provision.PackPath, err)
	}
	doc, err := packedit.Parse(raw)
	if err != nil {
		return provision.Revision{}, i18n.Errorf(msgEditNoPack, provision.PackPath, err)
	}
	if err := edit(doc); err != nil {
		return provision.Revision{}, err
	}
	out, err := doc.Bytes()
	if err != nil {
		return provision.Revision{}, err
	}
	if bytes.Equal(out, raw) {
		return provision.Revision{}, ErrUnchanged
	}
	// Validated here too, so that a panel with no daemon behind it (tests)
	// answers the same; the daemon validates again, against the same file
	// name, and reports every error at once with its line.
	if _, err := provision.Load(live, out); err != nil {
		return provision.Revision{}, err
	}
	rev, err := p.opts.ApplyPack(ctx, out, author, note)
	if err != nil {
		return provision.Revision{}, err
	}
	p.log.Info("pack edited", "revision", rev.Number, "author", author, "note", note)
	return rev, nil
}

// editError is an edit's error for a page or the API, in lang; unchanged
// reports ErrUnchanged, which is no failure.
func editError(err error, lang i18n.Lang) (msg string, unchanged bool) {
	if errors.Is(err, ErrUnchanged) {
		return msgEditUnchanged.In(lang), true
	}
	return i18n.Localize(err, lang), false
}

// editMessage is an edit's error in plain words for a form: a pack
// validation error without its file, line and column (the admin never saw
// the file), one per line; any other error as it localizes.
func editMessage(err error, lang i18n.Lang) string {
	var list provision.ErrorList
	if !errors.As(err, &list) {
		var one *provision.FieldError
		if !errors.As(err, &one) {
			msg, _ := editError(err, lang)
			return msg
		}
		list = provision.ErrorList{one}
	}
	msgs := make([]string, 0, len(list))
	for _, e := range list {
		msg := ""
		if e.Text.Msg != (i18n.M{}) {
			msg = e.Text.String(lang)
		}
		if e.Err != nil {
			if msg != "" {
				msg += ": "
			}
			msg += i18n.Localize(e.Err, lang)
		}
		if msg == "" {
			msg = e.Localize(lang)
		}
		if e.Path != "" {
			sep := " : " // French typography
			if lang == i18n.EN {
				sep = ": "
			}
			msg = e.Path + sep + msg
		}
		msgs = append(msgs, msg)
	}
	return strings.Join(msgs, "\n")
}

// editStatus is the HTTP status of an edit's error: 409 when nothing
// changed, 503 when edits are off, 422 for a pack the change would make
// invalid or an apply that failed.
func editStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnchanged):
		return http.StatusConflict
	case errors.Is(err, errEditsOff):
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

// revisionDone is where a form goes after an edit: back to the list with
// the new revision's number, which the list announces (flash).
func revisionDone(c *call, to string, rev provision.Revision) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	c.redirect(to + sep + "rev=" + strconv.Itoa(rev.Number))
}

// flash is the message a list shows after an edit: "Révision 7
// appliquée", from the query's rev (a number, never text from the URL).
func flash(c *call) string {
	n, err := strconv.Atoi(c.r.URL.Query().Get("rev"))
	if err != nil || n <= 0 {
		return ""
	}
	return text(c.lang, "edit.applied", n)
}

// editAdmins may change the pack from the panel.
var editAdmins = access{roles: []string{provision.RoleAdmin}}
