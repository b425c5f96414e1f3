package panel

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Revisions: every applied pack is kept (provision/revisions.go). Staff
// read them and their diffs; admins go back to one, which applies its
// bytes as a new revision (the history only grows). A pack holds no secret
// (secrets are files under etc/ruche/secrets, named by the pack, never
// read here), so its diffs can be shown.

var (
	msgRevisionUnknown = i18n.M{FR: "la révision « %s » n'existe pas", EN: "revision %q does not exist"}
	msgRevisionRead    = i18n.M{FR: "la révision %d est illisible : %v", EN: "revision %d cannot be read: %v"}
)

var revisionTexts = map[string]i18n.M{
	"nav.revisions":             {FR: "Révisions", EN: "Revisions"},
	"edit.revisions.title":      {FR: "Révisions du pack", EN: "Pack revisions"},
	"edit.revisions.intro":      {FR: "Chaque modification du pack, depuis le panneau ou par « ruche apply », est une révision : qui, quand, pourquoi, et ce qui a changé.", EN: "Every change of the pack, from the panel or with \"ruche apply\", is a revision: who, when, why, and what changed."},
	"edit.revisions.none":       {FR: "Aucune révision pour l'instant.", EN: "No revision yet."},
	"edit.revisions.number":     {FR: "N°", EN: "No."},
	"edit.revisions.time":       {FR: "Date", EN: "Date"},
	"edit.revisions.author":     {FR: "Auteur", EN: "Author"},
	"edit.revisions.note":       {FR: "Note", EN: "Note"},
	"edit.revisions.current":    {FR: "en service", EN: "live"},
	"edit.revisions.one":        {FR: "Révision %d", EN: "Revision %d"},
	"edit.revisions.diff":       {FR: "Changements depuis la révision %d", EN: "Changes since revision %d"},
	"edit.revisions.first":      {FR: "Première révision : tout le pack est nouveau.", EN: "First revision: the whole pack is new."},
	"edit.revisions.same":       {FR: "Même contenu que la révision précédente.", EN: "Same content as the previous revision."},
	"edit.revisions.back":       {FR: "Revenir à cette révision", EN: "Go back to this one"},
	"edit.revisions.back.title": {FR: "Revenir à la révision %d ?", EN: "Go back to revision %d?"},
	"edit.revisions.back.q":     {FR: "Le pack de la révision %d sera appliqué de nouveau, comme une nouvelle révision : ce qui a été changé depuis sera défait. L'historique est gardé.", EN: "The pack of revision %d will be applied again, as a new revision: what was changed since will be undone. The history is kept."},
	"edit.revisions.all":        {FR: "Toutes les révisions", EN: "All revisions"},
}

func init() { maps.Copy(texts, revisionTexts) }

// diffLine is one line of a unified diff, with its CSS class: add, del,
// hunk or ctx.
type diffLine struct {
	Class, Text string
}

// diffLines is the unified diff from old to new, line by line; the file
// header lines are left out (the page says what is compared).
func diffLines(old, new []byte) []diffLine {
	u := udiff.Unified("a", "b", string(old), string(new))
	var out []diffLine
	for _, l := range strings.SplitAfter(u, "\n") {
		l = strings.TrimSuffix(l, "\n")
		switch {
		case l == "" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ "):
			continue
		case strings.HasPrefix(l, "@@"):
			out = append(out, diffLine{"hunk", l})
		case strings.HasPrefix(l, "+"):
			out = append(out, diffLine{"add", l})
		case strings.HasPrefix(l, "-"):
			out = append(out, diffLine{"del", l})
		default:
			out = append(out, diffLine{"ctx", l})
		}
	}
	return out
}

type revisionsData struct {
	Revisions []provision.Revision // newest first
	Current   int
	Flash     string
}

func (p *Panel) revisions(c *call) ([]provision.Revision, bool) {
	revs, err := provision.ListRevisions(p.opts.Root)
	if err != nil {
		p.log.Error("revisions: list", "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return nil, false
	}
	return revs, true
}

// revisionsPage is GET /revisions.
func (p *Panel) revisionsPage(c *call) {
	revs, ok := p.revisions(c)
	if !ok {
		return
	}
	d := revisionsData{Flash: flash(c)}
	if len(revs) > 0 {
		d.Current = revs[len(revs)-1].Number
	}
	d.Revisions = slices.Clone(revs)
	slices.Reverse(d.Revisions)
	c.page(http.StatusOK, "revisions", text(c.lang, "edit.revisions.title"), "revisions", d)
}

// apiRevisions is GET /api/revisions: newest first.
func (p *Panel) apiRevisions(c *call) {
	revs, ok := p.revisions(c)
	if !ok {
		return
	}
	out := slices.Clone(revs)
	slices.Reverse(out)
	if out == nil {
		out = []provision.Revision{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"revisions": out})
}

type revisionData struct {
	Rev      provision.Revision
	Previous int // 0: none
	Current  bool
	Diff     []diffLine
	CanBack  bool
	err      string
}

func (d revisionData) errorText() string { return d.err }

// revisionFor reads the route's {n} and the revision before it; it
// answers the error itself.
func (p *Panel) revisionFor(c *call) (d revisionData, raw []byte, ok bool) {
	n, err := strconv.Atoi(c.param("n"))
	if err != nil || n <= 0 || strconv.Itoa(n) != c.param("n") {
		c.fail(http.StatusNotFound, msgRevisionUnknown, c.param("n"))
		return d, nil, false
	}
	revs, ok := p.revisions(c)
	if !ok {
		return d, nil, false
	}
	i := slices.IndexFunc(revs, func(r provision.Revision) bool { return r.Number == n })
	if i < 0 {
		c.fail(http.StatusNotFound, msgRevisionUnknown, c.param("n"))
		return d, nil, false
	}
	raw, rev, err := provision.ReadRevision(p.opts.Root, n)
	if err != nil {
		p.log.Error("revisions: read", "revision", n, "err", err)
		c.fail(http.StatusInternalServerError, msgRevisionRead, n, err)
		return d, nil, false
	}
	rev.Number = n
	d = revisionData{Rev: rev, Current: i == len(revs)-1}
	var prev []byte
	if i > 0 {
		d.Previous = revs[i-1].Number
		if prev, _, err = provision.ReadRevision(p.opts.Root, d.Previous); err != nil {
			p.log.Error("revisions: read", "revision", d.Previous, "err", err)
			c.fail(http.StatusInternalServerError, msgRevisionRead, d.Previous, err)
			return d, nil, false
		}
	}
	d.Diff = diffLines(prev, raw)
	d.CanBack = !d.Current && c.currentUser().Role == provision.RoleAdmin
	return d, raw, true
}

// revisionPage is GET /revisions/{n}.
func (p *Panel) revisionPage(c *call) {
	d, _, ok := p.revisionFor(c)
	if !ok {
		return
	}
	c.page(http.StatusOK, "revision", text(c.lang, "edit.revisions.one", d.Rev.Number), "revisions", d)
}

func (p *Panel) restoreConfirm(c *call, n int, err string) confirmData {
	return confirmData{
		Question: text(c.lang, "edit.revisions.back.q", n),
		Action:   "/revisions/" + strconv.Itoa(n) + "/restore",
		Button:   text(c.lang, "edit.revisions.back"),
		Back:     "/revisions/" + strconv.Itoa(n),
		err:      err,
	}
}

// restorePage is GET /revisions/{n}/restore: the question.
func (p *Panel) restorePage(c *call) {
	d, _, ok := p.revisionFor(c)
	if !ok {
		return
	}
	c.page(http.StatusOK, "confirm", text(c.lang, "edit.revisions.back.title", d.Rev.Number), "revisions", p.restoreConfirm(c, d.Rev.Number, ""))
}

// restoreForm is POST /revisions/{n}/restore: the revision's pack, byte
// for byte, applied as a new revision through ApplyPack.
func (p *Panel) restoreForm(c *call) {
	d, raw, ok := p.revisionFor(c)
	if !ok {
		return
	}
	rev, err := p.applyRaw(c, raw, "retour à la révision "+strconv.Itoa(d.Rev.Number)+" / back to revision "+strconv.Itoa(d.Rev.Number))
	if err != nil {
		code := editStatus(err)
		c.page(code, "confirm", text(c.lang, "edit.revisions.back.title", d.Rev.Number), "revisions",
			p.restoreConfirm(c, d.Rev.Number, editMessage(err, c.lang)))
		return
	}
	revisionDone(c, "/revisions", rev)
}

// applyRaw applies a whole pack (an old revision's) as a new revision by
// the request's user, serialized with the other edits.
func (p *Panel) applyRaw(c *call, raw []byte, note string) (provision.Revision, error) {
	if p.opts.ApplyPack == nil || p.opts.Root == "" {
		return provision.Revision{}, errEditsOff
	}
	p.editMu.Lock()
	defer p.editMu.Unlock()
	rev, err := p.opts.ApplyPack(c.r.Context(), raw, c.currentUser().Login, note)
	if err == nil {
		p.log.Info("pack revision restored", "revision", rev.Number, "author", c.currentUser().Login, "note", note)
	}
	return rev, err
}
