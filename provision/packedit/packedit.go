// Package packedit edits a pack's YAML the way a person would: the panel
// changes one alias, one user or one page, and every other line of the file
// (comments, blank lines, key order, quoting, flow style) stays as the
// association wrote it.
//
// The edit itself is made on gopkg.in/yaml.v3 nodes. yaml.v3 alone would
// re-emit the whole file in its own layout (it drops blank lines, moves
// some comments and respaces line comments), so Bytes merges: the lines
// that the edit changed come from yaml.v3, every other line comes from the
// original file (see merge). A merge whose result does not read back as the
// edited document is thrown away for yaml.v3's own output: the content is
// always right, the layout is kept whenever it can be.
package packedit

import (
	"bytes"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision/i18n"
)

// Doc is a pack being edited.
type Doc struct {
	raw    []byte     // the file as it was read
	root   *yaml.Node // the document node
	indent int        // spaces per level in the original file
	// orig is yaml.v3's rendering of the unedited document: the edit is
	// the difference between it and the rendering of the edited one.
	orig []byte
}

var (
	msgNotMapping = i18n.M{
		FR: "le pack n'est pas un document YAML de clés et valeurs",
		EN: "the pack is not a YAML document of keys and values",
	}
	msgBadShape = i18n.M{
		FR: "« %s » n'a pas la forme attendue dans le pack (%s)",
		EN: "%q does not have the expected shape in the pack (%s)",
	}
	msgNoAlias = i18n.M{
		FR: "l'adresse « %s » n'est pas un alias du pack",
		EN: "%q is not an alias of the pack",
	}
	msgNoUser = i18n.M{
		FR: "« %s » n'est pas un utilisateur du pack",
		EN: "%q is not a user of the pack",
	}
	msgNoSite = i18n.M{
		FR: "le site « %s » n'existe pas dans le pack",
		EN: "site %q does not exist in the pack",
	}
	msgSiteExists = i18n.M{
		FR: "le site « %s » existe déjà dans le pack",
		EN: "site %q already exists in the pack",
	}
	msgNoPage = i18n.M{
		FR: "le site « %s » n'a pas de page « %s »",
		EN: "site %q has no page %q",
	}
	msgEmpty = i18n.M{
		FR: "%s est obligatoire",
		EN: "%s is required",
	}
)

// Parse reads a pack's YAML. It checks only that the file is YAML with a
// mapping at the top: validation is provision.Load's job, on the result.
func Parse(raw []byte) (*Doc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		// An empty file: start an empty mapping.
		root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, i18n.Errorf(msgNotMapping)
	}
	d := &Doc{raw: raw, root: &root, indent: detectIndent(&root)}
	orig, err := d.encode()
	if err != nil {
		return nil, err
	}
	d.orig = orig
	return d, nil
}

// detectIndent is the step between a block mapping and a block mapping
// nested in it, the first one found; 2 when the file has none.
func detectIndent(n *yaml.Node) int {
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > k.Line {
					if step := v.Content[0].Column - k.Column; step >= 2 && step <= 8 {
						return step
					}
				}
			}
		}
		for _, c := range n.Content {
			if s := walk(c); s > 0 {
				return s
			}
		}
		return 0
	}
	if s := walk(n); s > 0 {
		return s
	}
	return 2
}

func (d *Doc) encode() ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(d.indent)
	if err := e.Encode(d.root); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Bytes is the edited pack: the original bytes when nothing changed,
// otherwise the original file with the edited lines replaced.
func (d *Doc) Bytes() ([]byte, error) {
	edited, err := d.encode()
	if err != nil {
		return nil, err
	}
	if bytes.Equal(edited, d.orig) {
		return bytes.Clone(d.raw), nil
	}
	merged := merge(d.raw, d.orig, edited)
	if sameContent(merged, edited) {
		return merged, nil
	}
	return edited, nil
}

// sameContent reports whether a and b read as the same YAML values.
func sameContent(a, b []byte) bool {
	var x, y any
	if yaml.Unmarshal(a, &x) != nil || yaml.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// top is the document's root mapping.
func (d *Doc) top() *yaml.Node { return d.root.Content[0] }

// get returns the value of key in mapping m, nil when absent.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set gives key the scalar value in mapping m: an existing value keeps its
// quoting when it still can, a new key goes last.
func set(m *yaml.Node, key, value string) {
	if v := get(m, key); v != nil && v.Kind == yaml.ScalarNode {
		v.Value, v.Tag = value, "!!str"
		if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && !strings.Contains(value, "\n") {
			v.Style = 0
		}
		return
	} else if v != nil {
		*v = *str(value)
		return
	}
	m.Content = append(m.Content, str(key), str(value))
}

// setNode gives key the node value in mapping m, in place when present.
func setNode(m *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// The old value's comments belong to the lines around it.
			old := m.Content[i+1]
			value.HeadComment, value.LineComment, value.FootComment = old.HeadComment, old.LineComment, old.FootComment
			m.Content[i+1] = value
			return
		}
	}
	m.Content = append(m.Content, str(key), value)
}

// setStrings gives key the list items in mapping m. An existing list keeps
// its style and the items still in it keep their nodes, with their
// comments; a new list is in flow style when flow is set.
func setStrings(m *yaml.Node, key string, items []string, flow bool) {
	old := get(m, key)
	if old == nil || old.Kind != yaml.SequenceNode {
		setNode(m, key, strSeq(items, flow))
		return
	}
	kept := map[string][]*yaml.Node{}
	for _, it := range old.Content {
		if it.Kind == yaml.ScalarNode {
			kept[it.Value] = append(kept[it.Value], it)
		}
	}
	content := make([]*yaml.Node, 0, len(items))
	for _, s := range items {
		if ns := kept[s]; len(ns) > 0 {
			content = append(content, ns[0])
			kept[s] = ns[1:]
			continue
		}
		content = append(content, str(s))
	}
	// A foot comment under the old last item stays under the list.
	if n := len(old.Content); n > 0 && len(content) > 0 && content[len(content)-1] != old.Content[n-1] && old.Content[n-1].FootComment != "" {
		last := old.Content[n-1]
		content[len(content)-1].FootComment, last.FootComment = last.FootComment, ""
	}
	old.Content = content
}

// del removes key from mapping m.
func del(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// setOrDel sets key, or removes it when value is empty.
func setOrDel(m *yaml.Node, key, value string) {
	if value == "" {
		del(m, key)
		return
	}
	set(m, key, value)
}

// str is a string scalar; yaml.v3 quotes it when plain would read as
// something else (yes, 12, null...).
func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// strSeq is a sequence of strings, in flow style when flow is set.
func strSeq(items []string, flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// child returns the mapping under key in m, creating an empty block
// mapping when it is absent or null. what names it in errors.
func child(m *yaml.Node, key, what string, kind yaml.Kind) (*yaml.Node, error) {
	v := get(m, key)
	if v == nil || v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "") {
		n := &yaml.Node{Kind: kind}
		if kind == yaml.MappingNode {
			n.Tag = "!!map"
		} else {
			n.Tag = "!!seq"
		}
		if v == nil {
			m.Content = append(m.Content, str(key), n)
		} else {
			comment := v.LineComment
			*v = *n
			v.LineComment = comment
			n = v
		}
		return n, nil
	}
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind != kind {
		return nil, i18n.Errorf(msgBadShape, what, kindName(kind))
	}
	return v, nil
}

func kindName(k yaml.Kind) string {
	if k == yaml.SequenceNode {
		return "list / liste"
	}
	return "mapping / dictionnaire"
}

// lookup walks down mappings by keys without creating anything; nil when
// any is missing.
func (d *Doc) lookup(keys ...string) *yaml.Node {
	n := d.top()
	for _, k := range keys {
		n = get(n, k)
		if n == nil {
			return nil
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
	}
	return n
}

// find returns the index of the mapping item of seq whose key equals value
// (per eq), -1 when none.
func find(seq *yaml.Node, key, value string, eq func(a, b string) bool) int {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return -1
	}
	for i, it := range seq.Content {
		if it.Kind == yaml.AliasNode {
			it = it.Alias
		}
		if v := get(it, key); v != nil && v.Kind == yaml.ScalarNode && eq(v.Value, value) {
			return i
		}
	}
	return -1
}

func same(a, b string) bool { return a == b }

// remove drops item i of seq. A head comment of the item goes with it only
// when it is not the comment of what follows (the next item gets it).
func remove(seq *yaml.Node, i int) {
	seq.Content = append(seq.Content[:i], seq.Content[i+1:]...)
}

// newItemStyle is the style a new mapping in seq takes: flow when the
// items already there are flow mappings ({login: x, role: y}).
func newItemStyle(seq *yaml.Node) yaml.Style {
	for _, it := range seq.Content {
		if it.Kind == yaml.MappingNode {
			return it.Style & yaml.FlowStyle
		}
	}
	return 0
}

// item resolves an alias node (&anchor / *ref) to the mapping it names.
func item(seq *yaml.Node, i int) *yaml.Node {
	it := seq.Content[i]
	if it.Kind == yaml.AliasNode {
		return it.Alias
	}
	return it
}

// errRequired names an empty required value.
func errRequired(field string) error { return i18n.Errorf(msgEmpty, field) }
