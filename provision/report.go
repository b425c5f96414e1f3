package provision

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/ruche-box/ruche/provision/i18n"
)

var (
	msgCreate    = i18n.M{FR: "+ %s (nouveau)", EN: "+ %s (new)"}
	msgUpdate    = i18n.M{FR: "~ %s (modifié)", EN: "~ %s (changed)"}
	msgMode      = i18n.M{FR: "~ %s (droits : %s)", EN: "~ %s (permissions: %s)"}
	msgRemove    = i18n.M{FR: "- %s (supprimé)", EN: "- %s (removed)"}
	msgMoveAside = i18n.M{FR: "> %s mis de côté dans %s (rien n'est effacé)", EN: "> %s moved aside to %s (nothing is deleted)"}
	msgBackup    = i18n.M{FR: "> %s n'a pas été créé par Ruche : gardé dans %s", EN: "> %s was not made by Ruche: kept in %s"}
	msgRevision  = i18n.M{FR: "* nouvelle révision du pack : %s", EN: "* new pack revision: %s"}
	msgTree      = i18n.M{FR: "~ %s (nouvelle version %s)", EN: "~ %s (new version %s)"}
	msgTreeGone  = i18n.M{FR: "- %s (dossier entier supprimé)", EN: "- %s (whole folder removed)"}
	msgMkdir     = i18n.M{FR: "+ %s/ (dossier pour vos fichiers)", EN: "+ %s/ (folder for your files)"}
	msgManifest  = i18n.M{FR: "* liste des fichiers de Ruche remise à jour (%s)", EN: "* Ruche's list of its files brought up to date (%s)"}
	msgUsers     = i18n.M{FR: "* comptes du panneau mis à jour : %s", EN: "* panel accounts updated: %s"}
	msgBinary    = i18n.M{FR: "  (contenu binaire différent)", EN: "  (binary content differs)"}
	msgDiffCut   = i18n.M{FR: "  … (%d lignes de plus)", EN: "  … (%d more lines)"}
)

// maxDiffLines bounds the diff shown per file: a plan is read by a person.
const maxDiffLines = 60

// WriteChanges prints the changes as a readable plan, with a unified diff
// for each updated text file, then the closing line "N changes" that scripts
// read (the same words in every language: it is part of the contract).
func WriteChanges(w io.Writer, changes []Change, lang i18n.Lang, diffs bool) {
	for _, c := range changes {
		switch c.Kind {
		case ChangeCreate:
			fmt.Fprintln(w, msgCreate.Sprintf(lang, c.Path))
		case ChangeUpdate:
			fmt.Fprintln(w, msgUpdate.Sprintf(lang, c.Path))
			if diffs {
				writeDiff(w, c, lang)
			}
		case ChangeMode:
			fmt.Fprintln(w, msgMode.Sprintf(lang, c.Path, c.Detail))
		case ChangeRemove:
			if c.Detail == "tree" {
				fmt.Fprintln(w, msgTreeGone.Sprintf(lang, c.Path))
			} else {
				fmt.Fprintln(w, msgRemove.Sprintf(lang, c.Path))
			}
		case ChangeTree:
			fmt.Fprintln(w, msgTree.Sprintf(lang, c.Path, c.Detail[:min(8, len(c.Detail))]))
		case ChangeTreeFile:
			mark := map[string]string{"create": "+", "update": "~", "remove": "-"}[c.Detail]
			fmt.Fprintf(w, "  %s %s\n", mark, c.Path)
			if diffs && c.Detail == "update" {
				writeDiff(w, c, lang)
			}
		case ChangeMoveAside:
			fmt.Fprintln(w, msgMoveAside.Sprintf(lang, c.Path, c.To))
		case ChangeBackup:
			fmt.Fprintln(w, msgBackup.Sprintf(lang, c.Path, c.To))
		case ChangeRevision:
			fmt.Fprintln(w, msgRevision.Sprintf(lang, c.Path))
		case ChangeMkdir:
			fmt.Fprintln(w, msgMkdir.Sprintf(lang, c.Path))
		case ChangeManifest:
			fmt.Fprintln(w, msgManifest.Sprintf(lang, c.Path))
		case ChangeUsers:
			fmt.Fprintln(w, msgUsers.Sprintf(lang, c.Detail))
		}
	}
	fmt.Fprintf(w, "%d changes\n", CountChanges(changes))
}

// CountChanges counts what a plan does. A new revision is bookkeeping of
// the pack file's own change, not a change of its own.
func CountChanges(changes []Change) int {
	n := 0
	for _, c := range changes {
		if c.Kind != ChangeRevision && c.Kind != ChangeTreeFile {
			n++
		}
	}
	return n
}

func writeDiff(w io.Writer, c Change, lang i18n.Lang) {
	if !utf8.Valid(c.Old) || !utf8.Valid(c.New) {
		fmt.Fprintln(w, msgBinary.In(lang))
		return
	}
	d := udiff.Unified("a/"+c.Path, "b/"+c.Path, string(c.Old), string(c.New))
	lines := strings.Split(strings.TrimSuffix(d, "\n"), "\n")
	if len(lines) > 2 {
		lines = lines[2:] // the ---/+++ header repeats the path
	}
	for i, l := range lines {
		if i == maxDiffLines {
			fmt.Fprintln(w, msgDiffCut.Sprintf(lang, len(lines)-i))
			break
		}
		fmt.Fprintln(w, "  "+l)
	}
}
