package sites

import (
	"testing"

	"github.com/ruche-box/ruche/templates"
)

// Every template and every param the panel offers has its own words in
// both languages: the fallback (the bare name) is for a template added
// without them, which this test then names.
func TestTemplatesDescribed(t *testing.T) {
	list := Templates()
	if len(list) != len(templates.Names()) {
		t.Fatalf("Templates() lists %d templates, templates.Names() %d", len(list), len(templates.Names()))
	}
	for _, ti := range list {
		if d := ti.Description; d.FR == ti.Name || d.EN == ti.Name || d.FR == "" || d.EN == "" {
			t.Errorf("template %s has no description in templateWords", ti.Name)
		}
		if len(ti.Params) != len(templates.Params(ti.Name)) {
			t.Errorf("template %s: %d params, templates.Params has %d", ti.Name, len(ti.Params), len(templates.Params(ti.Name)))
		}
		for _, p := range ti.Params {
			if p.Label.FR == p.Name || p.Label.EN == "" || p.Hint.FR == "" || p.Hint.EN == "" {
				t.Errorf("template %s: param %s has no label or hint (%+v)", ti.Name, p.Name, p)
			}
		}
	}
}
