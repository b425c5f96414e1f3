package packedit

import (
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff/lcs"
)

// merge applies to orig the change that took base to edited, where base is
// yaml.v3's rendering of orig: a three-way merge of lines. base differs
// from orig only in layout (blank lines, comment spacing), and from edited
// only in the edit; so each line the edit left alone is taken from orig,
// with its layout, and each line it changed from edited. Where a layout
// difference and the edit touch the same lines, the edit wins in yaml.v3's
// layout. Bytes checks the result and falls back to edited.
func merge(orig, base, edited []byte) []byte {
	o, b, e := lines(orig), lines(base), lines(edited)
	type change struct {
		lcs.Diff
		edit bool // from the edit (else a layout difference)
	}
	var all []change
	for _, d := range lcs.DiffLines(b, o) {
		all = append(all, change{d, false})
	}
	for _, d := range lcs.DiffLines(b, e) {
		all = append(all, change{d, true})
	}
	// In base order; at one place, insertions first, and the edit's
	// insertion before orig's (a new list item goes before the blank line
	// that ends the list).
	sort.SliceStable(all, func(i, j int) bool {
		x, y := all[i], all[j]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		xi, yi := x.Start == x.End, y.Start == y.End
		if xi != yi {
			return xi
		}
		return x.edit && !y.edit
	})

	var out strings.Builder
	emit := func(ls []string) {
		for _, l := range ls {
			out.WriteString(l)
		}
	}
	pos, op, ep := 0, 0, 0 // next line of base, orig, edited
	for i := 0; i < len(all); {
		// A cluster: changes that overlap, one after the other.
		start, end := all[i].Start, all[i].End
		oDelta, eDelta, edit := 0, 0, false
		j := i
		for j < len(all) && (j == i || all[j].Start < end) {
			c := all[j]
			end = max(end, c.End)
			delta := (c.ReplEnd - c.ReplStart) - (c.End - c.Start)
			if c.edit {
				eDelta += delta
				edit = true
			} else {
				oDelta += delta
			}
			j++
		}
		i = j
		// Lines no change touches are the same in all three.
		n := start - pos
		emit(o[op : op+n])
		op, ep, pos = op+n, ep+n, start
		oLen, eLen := end-start+oDelta, end-start+eDelta
		if edit {
			emit(e[ep : ep+eLen])
		} else {
			emit(o[op : op+oLen])
		}
		op, ep, pos = op+oLen, ep+eLen, end
	}
	emit(o[op:])
	return []byte(out.String())
}

// lines splits s after each newline, keeping them.
func lines(s []byte) []string {
	if len(s) == 0 {
		return nil
	}
	ls := strings.SplitAfter(string(s), "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}
