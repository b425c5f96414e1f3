package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision/i18n"
)

// FieldError is one problem in a pack, at the place in the file it comes
// from. Decoding and validation errors share this type so that a volunteer
// gets all of them in one list, in file order.
type FieldError struct {
	File      string
	Line, Col int
	Path      string // "sites[1].domains[0]"; empty for the whole file
	Text      i18n.Text
	// Err is a cause that speaks for itself (the schedule parser's message);
	// it is printed after Text, or alone when Text is empty.
	Err error

	// hides is a field path whose validation errors would only repeat this
	// error, and that Load drops: the field itself for a value the decoder
	// could not read (it was left empty), the suggested field for a
	// misspelt one ("titel" makes "title is required" noise).
	hides string
}

// Localize formats the error as FILE:LINE:COL: PATH: message, on one line.
func (e *FieldError) Localize(lang i18n.Lang) string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Col)
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
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
	b.WriteString(msg)
	// One error, one line: a message must never break the FILE:LINE:COL
	// format that scripts and editors parse.
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, b.String())
}

// Error answers in French, Ruche's default language.
func (e *FieldError) Error() string { return e.Localize(i18n.FR) }

// ErrorList is every problem found in a pack. It is an error and speaks
// both languages.
type ErrorList []*FieldError

// Compile-time checks: both types are errors that speak both languages.
var (
	_ error          = (*FieldError)(nil)
	_ i18n.Localizer = (*FieldError)(nil)
	_ error          = ErrorList(nil)
	_ i18n.Localizer = ErrorList(nil)
)

// Sort puts the errors in file order (line, then column); errors at the
// same place keep the order they were found in.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
}

// Localize prints one error per line, in file order.
func (l ErrorList) Localize(lang i18n.Lang) string {
	sorted := append(ErrorList(nil), l...)
	sorted.Sort()
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Localize(lang)
	}
	return strings.Join(lines, "\n")
}

// Error answers in French, Ruche's default language.
func (l ErrorList) Error() string { return l.Localize(i18n.FR) }

// quoted is a value from the pack shown in a message: %q gives "x" (English
// style), %s gives x with control characters escaped, for the French « x ».
// Long values are cut: a message names the value, it does not reprint it.
type quoted string

const maxQuoted = 60

func (q quoted) Format(f fmt.State, verb rune) {
	s := string(q)
	if utf8.RuneCountInString(s) > maxQuoted {
		s = string([]rune(s)[:maxQuoted]) + "…"
	}
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(s))
		return
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	io.WriteString(f, b.String())
}

// maxNodes bounds the values a pack may hold once YAML aliases are
// expanded. A real pack has a few thousand; an "alias bomb" (a list of
// aliases to a list of aliases...) would have billions and exhaust the
// box's memory.
const maxNodes = 50000

// maxPackSize bounds the file: a pack with every page of a large site farm
// inline is a few hundred kilobytes; anything bigger is a mistake (a
// backup archive picked instead of the pack) and would only cost memory.
const maxPackSize = 4 << 20

// Messages of the decoder. French quotes values as « x », English as "x".
var (
	msgEmpty = i18n.M{
		FR: "le fichier est vide : un pack commence par « apiVersion: ruche/v1 » et « kind: Pack »",
		EN: `the file is empty: a pack starts with "apiVersion: ruche/v1" and "kind: Pack"`,
	}
	msgFileTooBig = i18n.M{
		FR: "le fichier fait %d Mio : un pack fait moins de %d Mio, est-ce le bon fichier ?",
		EN: "the file is %d MiB: a pack is under %d MiB; is this the right file?",
	}
	msgSyntax = i18n.M{
		FR: "le YAML est mal formé : %s",
		EN: "the YAML is malformed: %s",
	}
	msgMultiDoc = i18n.M{
		FR: "un pack est un seul document YAML : enlevez ce « --- » et ce qui le suit, ou faites-en un autre fichier",
		EN: `a pack is a single YAML document: remove this "---" and what follows, or make it another file`,
	}
	msgTooBig = i18n.M{
		FR: "trop de valeurs une fois les alias YAML développés (plus de %d) : un pack n'est jamais aussi gros",
		EN: "too many values once YAML aliases are expanded (over %d): a pack is never this big",
	}
	msgUnknownField = i18n.M{
		FR: "champ inconnu « %s »",
		EN: "unknown field %q",
	}
	msgUnknownFieldSuggest = i18n.M{
		FR: "champ inconnu « %s » : vouliez-vous dire « %s » ?",
		EN: "unknown field %q, did you mean %q?",
	}
	msgDuplicateKey = i18n.M{
		FR: "donné deux fois (la première à la ligne %d)",
		EN: "given twice (first on line %d)",
	}
	msgKeyNotWord = i18n.M{
		FR: "un nom de champ doit être un mot",
		EN: "a field name must be a word",
	}
	msgBadMerge = i18n.M{
		FR: "« << » doit désigner un groupe de champs (ou une liste de groupes)",
		EN: `"<<" must name a group of fields (or a list of them)`,
	}
	msgNotWhole = i18n.M{
		FR: "« %s » n'est pas un nombre entier",
		EN: "%q is not a whole number",
	}
	msgNotNumber = i18n.M{
		FR: "« %s » n'est pas un nombre",
		EN: "%q is not a number",
	}
	msgNotBool = i18n.M{
		FR: "« %s » n'est ni true ni false",
		EN: "%q is not true or false",
	}
	msgCannotRead = i18n.M{
		FR: "valeur illisible : %s",
		EN: "cannot read this value: %s",
	}
	msgAPIVersionMissing = i18n.M{
		FR: "manquant : un pack commence par « apiVersion: ruche/v1 »",
		EN: `missing: a pack starts with "apiVersion: ruche/v1"`,
	}
	msgAPIVersionBad = i18n.M{
		FR: "« %s » n'est pas une version de pack connue : écrivez « ruche/v1 »",
		EN: `%q is not a pack version Ruche knows: write "ruche/v1"`,
	}
	msgKindMissing = i18n.M{
		FR: "manquant : un pack porte « kind: Pack »",
		EN: `missing: a pack has "kind: Pack"`,
	}
	msgKindBad = i18n.M{
		FR: "« %s » n'est pas une sorte de document connue : écrivez « Pack »",
		EN: `%q is not a kind of document Ruche knows: write "Pack"`,
	}
)

// The shape of a value, in words a volunteer knows, for "expected X, got Y".
type shape struct{ fr, en string }

var (
	shapeWord   = shape{"un mot", "a word"}
	shapeWhole  = shape{"un nombre entier", "a whole number"}
	shapeNumber = shape{"un nombre", "a number"}
	shapeBool   = shape{"true ou false", "true or false"}
	shapeList   = shape{"une liste", "a list"}
	shapeGroup  = shape{"un groupe de champs (nom: valeur)", "a group of fields (name: value)"}
)

// Decode reads a pack strictly: one YAML document whose every field is
// known, of the right type, given once. It collects every problem rather
// than stopping at the first, and records where each value stands so that
// validation errors carry a line and a column.
//
// When the document has a shape (a mapping), the pack is returned even with
// errors, so that the caller can speak its locale and Load can validate
// the rest; it must not be applied. When the file cannot be read as YAML
// at all, the pack is nil. The error, if any, is an ErrorList.
func Decode(file string, data []byte) (*Pack, error) {
	d := &decoder{file: file}
	p := d.decode(data)
	if len(d.errs) > 0 {
		d.errs.Sort()
		return p, d.errs
	}
	return p, nil
}

// decoder walks a yaml.Node tree into a Pack. It does not use yaml.v3's
// own decoding with KnownFields: that stops at the first unknown field and
// gives no columns.
type decoder struct {
	file  string
	p     *Pack
	errs  ErrorList
	nodes int
	// tooBig is set once maxNodes is passed; the walk then stops.
	tooBig bool
}

func (d *decoder) decode(data []byte) *Pack {
	if len(data) > maxPackSize {
		d.fail(Pos{1, 1}, "", i18n.T(msgFileTooBig, len(data)>>20, maxPackSize>>20))
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(Pos{1, 1}, "", i18n.T(msgEmpty))
		} else {
			d.syntax(err)
		}
		return nil
	}
	// A second document is an error, but the first is still checked:
	// the volunteer gets every problem at once.
	var doc2 yaml.Node
	switch err := dec.Decode(&doc2); {
	case err == nil:
		d.fail(nodePos(&doc2), "", i18n.T(msgMultiDoc))
	case !errors.Is(err, io.EOF):
		d.syntax(err)
	}

	if len(doc.Content) == 0 {
		d.fail(Pos{1, 1}, "", i18n.T(msgEmpty))
		return nil
	}
	top := resolve(doc.Content[0])
	if isNull(top) {
		d.fail(Pos{1, 1}, "", i18n.T(msgEmpty))
		return nil
	}
	if top.Kind != yaml.MappingNode {
		d.fail(nodePos(top), "", i18n.T(expectedMsg(shapeGroup, top), gotArgs(top)...))
		return nil
	}

	p := &Pack{File: d.file, positions: map[string]Pos{}, keyPositions: map[string]Pos{}}
	d.p = p
	d.walk(top, reflect.ValueOf(p).Elem(), "")
	if d.tooBig {
		return nil
	}

	// apiVersion and kind identify the document, as in Talos's decoder.
	// The rest is still checked as v1: a typo in the header should not hide
	// the other problems.
	if _, ok := p.positions["apiVersion"]; !ok {
		d.fail(p.Pos("apiVersion"), "apiVersion", i18n.T(msgAPIVersionMissing))
	} else if p.APIVersion != APIVersion {
		d.fail(p.Pos("apiVersion"), "apiVersion", i18n.T(msgAPIVersionBad, quoted(p.APIVersion)))
	}
	if _, ok := p.positions["kind"]; !ok {
		d.fail(p.Pos("kind"), "kind", i18n.T(msgKindMissing))
	} else if p.Kind != Kind {
		d.fail(p.Pos("kind"), "kind", i18n.T(msgKindBad, quoted(p.Kind)))
	}
	return p
}

func (d *decoder) fail(pos Pos, path string, t i18n.Text) *FieldError {
	e := &FieldError{File: d.file, Line: pos.Line, Col: pos.Col, Path: path, Text: t}
	d.errs = append(d.errs, e)
	return e
}

// typeErr reports a value of the wrong shape; the field stays empty.
func (d *decoder) typeErr(n *yaml.Node, path string, want shape) {
	d.fail(nodePos(n), path, i18n.T(expectedMsg(want, n), gotArgs(n)...)).hides = path
}

// walk decodes node n into v, the field at path.
func (d *decoder) walk(n *yaml.Node, v reflect.Value, path string) {
	if d.tooBig {
		return
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.tooBig = true
		d.fail(nodePos(n), path, i18n.T(msgTooBig, maxNodes))
		return
	}
	// The position is where the value is written: for an alias, where
	// "*name" stands, since that is the line the volunteer wrote for path.
	d.p.positions[path] = nodePos(n)
	if r := resolve(n); r != n {
		// Errors about the value itself point at the alias too; what is
		// inside keeps the positions of the anchored text.
		c := *r
		c.Line, c.Column = n.Line, n.Column
		n = &c
	}
	if isNull(n) {
		// "title:" or "title: ~" leaves the field empty, as if absent;
		// validation says whether it was required.
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Map:
		d.dict(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.typeErr(n, path, shapeWord)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		d.boolean(n, v, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.integer(n, v, path)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.unsigned(n, v, path)
	case reflect.Float32, reflect.Float64:
		d.float(n, v, path)
	default:
		// A field type the walker does not know (an interface, say): let
		// yaml.v3 decode it, with its own alias guard.
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(nodePos(n), path, i18n.T(msgCannotRead, err.Error())).hides = path
		}
	}
}

// pair is one key: value of a mapping, merged ones ("<<: *base") included.
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// pairs lists the entries of mapping n, expanding merge keys. Explicit keys
// come first so that they override merged ones, as YAML says.
func (d *decoder) pairs(n *yaml.Node, path string, visiting map[*yaml.Node]bool) []pair {
	if visiting[n] {
		return nil // a mapping that merges itself: nothing more to add
	}
	visiting[n] = true
	defer delete(visiting, n)
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if d.nodes++; d.nodes > maxNodes {
			if !d.tooBig {
				d.tooBig = true
				d.fail(nodePos(k), path, i18n.T(msgTooBig, maxNodes))
			}
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, d.merge(k, v, path, visiting)...)
			continue
		}
		own = append(own, pair{key: k, value: v})
	}
	return append(own, merged...)
}

func (d *decoder) merge(k, v *yaml.Node, path string, visiting map[*yaml.Node]bool) []pair {
	var out []pair
	v = resolve(v)
	var sources []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, s := range v.Content {
			sources = append(sources, resolve(s))
		}
	}
	if len(sources) == 0 {
		d.fail(nodePos(k), path, i18n.T(msgBadMerge))
		return nil
	}
	for _, s := range sources {
		if s.Kind != yaml.MappingNode {
			d.fail(nodePos(k), path, i18n.T(msgBadMerge))
			continue
		}
		for _, pr := range d.pairs(s, path, visiting) {
			pr.merged = true
			out = append(out, pr)
		}
	}
	return out
}

// key returns the field name of a key node, or reports it.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode {
		d.fail(nodePos(k), path, i18n.T(msgKeyNotWord))
		return "", false
	}
	return k.Value, true
}

// structure decodes a mapping into a struct by its yaml tags, reporting
// unknown and repeated fields at their key.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, shapeGroup)
		return
	}
	fields := structFields(v.Type())
	seen := map[string]*yaml.Node{}
	for _, pr := range d.pairs(n, path, map[*yaml.Node]bool{}) {
		if d.tooBig {
			return
		}
		name, ok := d.key(pr.key, path)
		if !ok {
			continue
		}
		child := joinPath(path, name)
		if first, dup := seen[name]; dup {
			if !pr.merged {
				d.fail(nodePos(pr.key), child, i18n.T(msgDuplicateKey, first.Line))
			}
			continue
		}
		seen[name] = pr.key
		index, known := fields[name]
		if !known {
			d.unknown(pr.key, path, name, fields)
			continue
		}
		d.p.keyPositions[child] = nodePos(pr.key)
		d.walk(pr.value, v.FieldByIndex(index), child)
	}
}

// unknown reports a field the schema does not have, suggesting the closest
// known one when it is near enough to be a typo.
func (d *decoder) unknown(k *yaml.Node, path, name string, fields map[string][]int) {
	best, bestDist := "", math.MaxInt
	for known := range fields {
		dist := editDistance(strings.ToLower(name), known)
		if dist < bestDist || dist == bestDist && known < best {
			best, bestDist = known, dist
		}
	}
	// Near enough: a changed letter or two in a word long enough that the
	// suggestion is not a guess ("titel" → "title", not "foo" → "box").
	if best != "" && bestDist*3 <= max(len(name), len(best)) {
		d.fail(nodePos(k), path, i18n.T(msgUnknownFieldSuggest, quoted(name), quoted(best))).hides = joinPath(path, best)
		return
	}
	d.fail(nodePos(k), path, i18n.T(msgUnknownField, quoted(name)))
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, path, shapeList)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.walk(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// dict decodes a mapping into a map with string keys (site params).
func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	if v.Type().Key().Kind() != reflect.String {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(nodePos(n), path, i18n.T(msgCannotRead, err.Error())).hides = path
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, shapeGroup)
		return
	}
	m := reflect.MakeMap(v.Type())
	seen := map[string]*yaml.Node{}
	for _, pr := range d.pairs(n, path, map[*yaml.Node]bool{}) {
		if d.tooBig {
			return
		}
		name, ok := d.key(pr.key, path)
		if !ok {
			continue
		}
		child := joinPath(path, name)
		if first, dup := seen[name]; dup {
			if !pr.merged {
				d.fail(nodePos(pr.key), child, i18n.T(msgDuplicateKey, first.Line))
			}
			continue
		}
		seen[name] = pr.key
		d.p.keyPositions[child] = nodePos(pr.key)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.walk(pr.value, elem, child)
		m.SetMapIndex(reflect.ValueOf(name).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) boolean(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, shapeBool)
		return
	}
	// YAML 1.1's yes/no/on/off are still what many people write.
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on":
		v.SetBool(true)
	case "false", "no", "off":
		v.SetBool(false)
	default:
		d.fail(nodePos(n), path, i18n.T(msgNotBool, quoted(n.Value))).hides = path
	}
}

// wholeNumber reads an integer scalar. A quoted "587" is accepted: telling
// a volunteer that "587" is not a whole number would be absurd.
func wholeNumber(n *yaml.Node) (int64, bool) {
	switch n.Tag {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, true
		}
	case "!!str":
		if i, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, shapeWhole)
		return
	}
	i, ok := wholeNumber(n)
	if !ok || v.OverflowInt(i) {
		d.fail(nodePos(n), path, i18n.T(msgNotWhole, quoted(n.Value))).hides = path
		return
	}
	v.SetInt(i)
}

func (d *decoder) unsigned(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, shapeWhole)
		return
	}
	i, ok := wholeNumber(n)
	if !ok || i < 0 || v.OverflowUint(uint64(i)) {
		d.fail(nodePos(n), path, i18n.T(msgNotWhole, quoted(n.Value))).hides = path
		return
	}
	v.SetUint(uint64(i))
}

func (d *decoder) float(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, shapeNumber)
		return
	}
	var f float64
	if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil || v.OverflowFloat(f) {
		d.fail(nodePos(n), path, i18n.T(msgNotNumber, quoted(n.Value))).hides = path
		return
	}
	v.SetFloat(f)
}

// expectedMsg is "expected WANT, got GOT" for the shape of node n; a scalar
// is shown by its value (gotArgs).
func expectedMsg(want shape, n *yaml.Node) i18n.M {
	switch n.Kind {
	case yaml.SequenceNode:
		return i18n.M{FR: "il faut " + want.fr + ", pas une liste", EN: "expected " + want.en + ", got a list"}
	case yaml.MappingNode:
		return i18n.M{FR: "il faut " + want.fr + ", pas un groupe de champs", EN: "expected " + want.en + ", got a group of fields"}
	default:
		return i18n.M{FR: "il faut " + want.fr + ", pas « %s »", EN: "expected " + want.en + ", got %q"}
	}
}

func gotArgs(n *yaml.Node) []any {
	if n.Kind == yaml.ScalarNode {
		return []any{quoted(n.Value)}
	}
	return nil
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// nodePos is where a node stands; yaml.v3 counts from 1, but a node it made
// up (an empty document) may have 0.
func nodePos(n *yaml.Node) Pos {
	return Pos{Line: max(n.Line, 1), Col: max(n.Column, 1)}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// structFields maps the yaml names of a struct's fields to their index;
// ",inline" structs lend their fields.
func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
			for n, idx := range structFields(f.Type) {
				out[n] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's own default
		}
		out[name] = []int{i}
	}
	return out
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of two neighbours each cost one, so
// "titel" is one step from "title".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// yamlLine finds the line in a yaml.v3 error ("yaml: line 3: ..."). The
// parser prints its 0-based line for parse errors and the 1-based one for
// scanner errors; no line at all means the first line.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are yaml.v3's parser (not scanner) messages, whose line
// number is one short.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// plainSyntax says in plain words what the commonest YAML mistakes mean.
var plainSyntax = map[string]i18n.M{
	"mapping values are not allowed in this context": {
		FR: "un « : » est mal placé (une valeur qui contient « : » doit être entre guillemets)",
		EN: `a ":" is out of place (a value containing ": " must be in quotes)`,
	},
	"found a tab character that violates indentation": {
		FR: "une tabulation sert d'indentation : YAML n'accepte que des espaces",
		EN: "a tab is used for indentation: YAML only accepts spaces",
	},
	"did not find expected key": {
		FR: "l'indentation ne correspond pas à celle des lignes au-dessus",
		EN: "the indentation does not match the lines above",
	},
	"found character that cannot start any token": {
		FR: "un caractère ne peut pas commencer une valeur ici (une tabulation ? un « @ » ou « ` » sans guillemets ?)",
		EN: "a character cannot start a value here (a tab? an unquoted \"@\" or \"`\"?)",
	},
}

// syntax reports a YAML parse error at the line yaml.v3 gives (column 1:
// it gives none).
func (d *decoder) syntax(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
			for _, pp := range parserProblems {
				if msg == pp {
					line++
					break
				}
			}
		}
	}
	if line < 1 {
		line = 1
	}
	if plain, ok := plainSyntax[msg]; ok {
		d.fail(Pos{line, 1}, "", i18n.T(plain))
		return
	}
	d.fail(Pos{line, 1}, "", i18n.T(msgSyntax, msg))
}

// KeyPos returns where the key of path stands ("title" in "title: x"), for
// errors about the name rather than the value; without one, Pos(path).
func (p *Pack) KeyPos(path string) Pos {
	if pos, ok := p.keyPositions[path]; ok {
		return pos
	}
	return p.Pos(path)
}

// has reports whether the file gave a value for path: a 0 written in the
// file is not the same as a port left out.
func (p *Pack) has(path string) bool {
	_, ok := p.positions[path]
	return ok
}
